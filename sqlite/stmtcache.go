package sqlite

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
)

// DefaultStmtCacheSize is how many prepared statements each connection
// keeps (StmtCacheSize).
const DefaultStmtCacheSize = 256

// Parsing and planning a statement costs SQLite about as much as running
// a small one, and every ExecContext or QueryContext with a statement text
// does both again. Under causeway up's load it was an eighth of all CPU,
// spread over every service. So each connection keeps its statements,
// prepared once, by text, in a bounded LRU: a statement text run again on
// that connection binds and steps the statement it prepared before.
// Statements explicitly prepared (DB.PrepareContext, Tx.PrepareContext)
// come from the same cache and go back to it when closed.
//
// A cached statement serves one use at a time: while its rows are open (or
// a Stmt holding it is not closed), the same text on that connection runs
// uncached. A statement whose use failed is dropped (finalized) rather than
// kept, so an error can never leave a statement in an odd state for the
// next caller. database/sql uses a connection from one goroutine at a
// time, so the cache needs no lock.

// conn is what the modernc.org/sqlite connection implements and the cache
// forwards.
type conn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// stmt is what a modernc.org/sqlite statement implements.
type stmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// modernc.org/sqlite hands the context of every statement run with a
// cancellable one to a goroutine of its own that interrupts the statement
// when the context ends (and registers a progress handler for it). For the
// short statements of a batch transaction that costs more than the
// statement: under causeway up every handler's, projection's and append's
// statement paid it. A statement inside a write transaction waits for no
// other connection — the transaction took SQLite's write lock at its BEGIN
// IMMEDIATE — so a connection of the write pool (txNoCancel) runs the
// statements of its transactions without handing their context over: it
// checks the context first, so a batch whose context ended stops at its
// next statement, and the transaction, whose own BEGIN still honoured the
// context, is rolled back by database/sql when the context ends. Statements
// outside a transaction (which may wait for the lock of another process)
// and on the read pool (which may scan long) keep their cancellation.

// cachingConnector opens connections with a statement cache.
type cachingConnector struct {
	base driver.Connector
	size int
	// txNoCancel: the statements of a transaction run without their
	// context's cancellation (the write pool; see above).
	txNoCancel bool
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	bc, ok := dc.(conn)
	if !ok {
		_ = dc.Close()
		return nil, fmt.Errorf("sqlite: driver connection %T lacks the interfaces the statement cache needs", dc)
	}
	return &cachingConn{conn: bc, size: c.size, stmts: make(map[string]*cachedStmt), txNoCancel: c.txNoCancel}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.base.Driver() }

// cachingConn is a connection with its statement cache.
type cachingConn struct {
	conn
	size       int
	stmts      map[string]*cachedStmt
	lru        list.List // of *cachedStmt, most recently used first
	txNoCancel bool
	inTx       bool // between BeginTx and the end of its transaction
}

// BeginTx begins a transaction and notes it until it ends.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return &connTx{Tx: tx, c: c}, nil
}

// connTx is a transaction of a cachingConn.
type connTx struct {
	driver.Tx
	c *cachingConn
}

func (t *connTx) Commit() error {
	t.c.inTx = false
	return t.Tx.Commit()
}

func (t *connTx) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}

// stmtCtx returns the context to run a statement of c with: ctx, or —
// inside a transaction of the write pool — ctx without its cancellation,
// after checking that ctx has not ended (see cachingConnector).
func (c *cachingConn) stmtCtx(ctx context.Context) (context.Context, error) {
	if !c.txNoCancel || !c.inTx || ctx.Done() == nil {
		return ctx, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// cachedStmt is one statement of a connection's cache.
type cachedStmt struct {
	c     *cachingConn
	query string
	st    stmt
	elem  *list.Element // nil once evicted or dropped
	busy  bool
}

// take returns the cached statement for query, prepared now if needed,
// marked busy; nil (and no error) when the cached one is in use or the
// connection keeps no statements.
func (c *cachingConn) take(ctx context.Context, query string) (*cachedStmt, error) {
	if c.size == 0 {
		return nil, nil // no cache (StmtCacheSize(0)): every statement runs by text
	}
	if e, ok := c.stmts[query]; ok {
		if e.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e.elem)
		e.busy = true
		return e, nil
	}
	ds, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := ds.(stmt)
	if !ok {
		_ = ds.Close()
		return nil, fmt.Errorf("sqlite: driver statement %T lacks the interfaces the statement cache needs", ds)
	}
	e := &cachedStmt{c: c, query: query, st: st, busy: true}
	e.elem = c.lru.PushFront(e)
	c.stmts[query] = e
	c.evict()
	return e, nil
}

// evict finalizes the least recently used idle statements beyond the
// cache's size. Busy ones stay until they are released.
func (c *cachingConn) evict() {
	for el := c.lru.Back(); el != nil && c.lru.Len() > c.size; {
		prev := el.Prev()
		if e := el.Value.(*cachedStmt); !e.busy {
			c.remove(e)
			_ = e.st.Close()
		}
		el = prev
	}
}

// remove takes e out of the cache (it is finalized by the caller).
func (c *cachingConn) remove(e *cachedStmt) {
	if e.elem == nil {
		return
	}
	c.lru.Remove(e.elem)
	e.elem = nil
	delete(c.stmts, e.query)
}

// release ends a use of e: it stays cached for the next one, unless the
// use failed (err) or it was evicted meanwhile, in which case it is
// finalized.
func (e *cachedStmt) release(err error) error {
	e.busy = false
	if err == nil && e.elem != nil {
		e.c.evict()
		return nil
	}
	e.c.remove(e)
	return e.st.Close()
}

// ExecContext runs query through its cached statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx, err := c.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	e, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return c.conn.ExecContext(ctx, query, args)
	}
	res, err := e.st.ExecContext(ctx, args)
	if cerr := e.release(err); err == nil && cerr != nil {
		return nil, cerr
	}
	return res, err
}

// QueryContext runs query through its cached statement; the statement is
// busy until the rows are closed.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx, err := c.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	e, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return c.conn.QueryContext(ctx, query, args)
	}
	rows, err := e.st.QueryContext(ctx, args)
	if err != nil {
		_ = e.release(err)
		return nil, err
	}
	return &cachedRows{Rows: rows, e: e}, nil
}

// PrepareContext lends the cached statement for query until the returned
// statement is closed (a new one while the cached one is busy).
func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	e, err := c.take(ctx, query)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return c.conn.PrepareContext(ctx, query)
	}
	return &lentStmt{e: e}, nil
}

// Prepare is PrepareContext without a context.
func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// Close finalizes the cached statements, then closes the connection.
func (c *cachingConn) Close() error {
	var errs []error
	for _, e := range c.stmts {
		errs = append(errs, e.st.Close())
	}
	clear(c.stmts)
	c.lru.Init()
	return errors.Join(errors.Join(errs...), c.conn.Close())
}

// lentStmt is a cached statement lent to a caller of PrepareContext.
type lentStmt struct {
	e      *cachedStmt
	failed error
	closed bool
}

func (s *lentStmt) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	return s.e.release(s.failed)
}

func (s *lentStmt) NumInput() int { return s.e.st.NumInput() }

func (s *lentStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

func (s *lentStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

func (s *lentStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	ctx, err := s.e.c.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	res, err := s.e.st.ExecContext(ctx, args)
	if err != nil {
		s.failed = err
	}
	return res, err
}

func (s *lentStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	ctx, err := s.e.c.stmtCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.e.st.QueryContext(ctx, args)
	if err != nil {
		s.failed = err
	}
	return rows, err
}

func namedValues(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// cachedRows releases its statement when closed.
type cachedRows struct {
	driver.Rows
	e      *cachedStmt
	closed bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	if rerr := r.e.release(err); err == nil {
		err = rerr
	}
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
