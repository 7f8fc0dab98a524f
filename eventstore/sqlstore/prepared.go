package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/sqldb"
)

// prepared keeps statements prepared on the SQLite write pool, where
// preparing costs as much as running; pgx caches prepared statements per
// connection by itself, so PostgreSQL runs statement texts.
type prepared struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// pending holds the queries being prepared in the background (see
	// txStmt); closed is set by Close, after which nothing is kept.
	pending map[string]bool
	closed  bool
}

// txStmt is what txStmt returns: a statement bound to a transaction.
type txStmt interface {
	ExecContext(ctx context.Context, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

// textStmt runs a statement text on a transaction.
type textStmt struct {
	tx    *sqldb.Tx
	query string
}

func (t textStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.query, args...)
}

func (t textStmt) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.query, args...)
}

func (t textStmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.query, args...)
}

// txStmt returns query bound to tx: the statement prepared by prepare if
// there is one, the text otherwise. On SQLite a query met without its
// statement is prepared in the background, once the write connection is
// free (it cannot be now: tx holds the pool's one connection), so appends
// and loads through AppendTx and LoadTx — the consumers' and the order
// service's path, which never goes through Append — stop parsing their SQL
// after the first few calls. Parsing had been a quarter of the CPU of
// causeway up under load. Only the bounded set of statement shapes of the
// stmtCache and the fixed queries go through here.
func (s *Store) txStmt(ctx context.Context, tx *sqldb.Tx, query string) txStmt {
	s.prep.mu.Lock()
	st, ok := s.prep.m[query]
	if !ok && s.db.Dialect == sqldb.SQLite && !s.prep.closed && !s.prep.pending[query] {
		if s.prep.pending == nil {
			s.prep.pending = make(map[string]bool)
		}
		s.prep.pending[query] = true
		go s.prepareQuery(context.WithoutCancel(ctx), query)
	}
	s.prep.mu.Unlock()
	if !ok {
		return textStmt{tx, query}
	}
	return tx.StmtContext(ctx, st)
}

// prepareQuery prepares q on the write pool and keeps it, unless the Store
// was closed meanwhile. A failed prepare is dropped (the text keeps
// running and reports the error).
func (s *Store) prepareQuery(ctx context.Context, q string) {
	st, err := s.db.Write.PrepareContext(ctx, q)
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	delete(s.prep.pending, q)
	if err != nil {
		return
	}
	if _, ok := s.prep.m[q]; ok || s.prep.closed {
		_ = st.Close()
		return
	}
	if s.prep.m == nil {
		s.prep.m = make(map[string]*sql.Stmt)
	}
	s.prep.m[q] = st
}

// prepare prepares the statements an append of b runs, on SQLite, for
// shapes the stmtCache keeps. It must run outside a transaction: SQLite's
// write pool has one connection. A failed prepare is ignored (the text
// runs and reports the error).
func (s *Store) prepare(ctx context.Context, b *batch) {
	if s.db.Dialect != sqldb.SQLite || len(b.rows) > maxCachedN {
		return
	}
	expected := b.expected
	if expected == eventstore.Any {
		expected = 1 // any version but 0: the general statement
	}
	for _, q := range []string{sqliteStreamVersion, s.sqliteAppendSQL(expected, len(b.rows))} {
		s.prep.mu.Lock()
		_, ok := s.prep.m[q]
		s.prep.mu.Unlock()
		if ok {
			continue
		}
		st, err := s.db.Write.PrepareContext(ctx, q)
		if err != nil {
			return
		}
		s.prep.mu.Lock()
		if s.prep.m == nil {
			s.prep.m = make(map[string]*sql.Stmt)
		}
		if _, ok := s.prep.m[q]; ok {
			_ = st.Close()
		} else {
			s.prep.m[q] = st
		}
		s.prep.mu.Unlock()
	}
}

// Close releases the statements the Store prepared. It does not close the
// DB; the Store must not be used afterwards.
func (s *Store) Close() error {
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	s.prep.closed = true
	var errs []error
	for q, st := range s.prep.m {
		errs = append(errs, st.Close())
		delete(s.prep.m, q)
	}
	return errors.Join(errs...)
}
