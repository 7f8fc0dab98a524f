package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// Dialect names the SQL database behind a DB.
type Dialect int

const (
	// SQLite is modernc.org/sqlite in WAL mode: one writer at a time.
	SQLite Dialect = iota + 1
	// Postgres is PostgreSQL through pgx/v5's database/sql driver.
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	default:
		return fmt.Sprintf("dialect(%d)", int(d))
	}
}

// ErrClosed is returned by operations on a closed DB.
var ErrClosed = errors.New("sqldb: closed")

// DB is a database handle: a pool for writes, a pool for reads and the
// dialect. For SQLite the write pool holds one connection (SQLite has one
// writer) and transactions begin IMMEDIATE; for PostgreSQL both pools are
// the same *sql.DB.
//
// A DB is safe for concurrent use.
type DB struct {
	// Write is the pool transactions run on.
	Write *sql.DB
	// Read is the pool for queries outside transactions. It may equal Write.
	Read *sql.DB
	// Locks is the pool session locks (SessionLock) hold their connections
	// on, apart from Write and Read so that a bounded work pool can never
	// be filled by lock holders waiting for a connection to work with (nil:
	// Write). The PostgreSQL adapter sets it.
	Locks *sql.DB
	// Dialect tells which SQL flavour to speak.
	Dialect Dialect
	// Schema is the PostgreSQL schema (empty for SQLite).
	Schema string

	notifier notifier
	closeMu  sync.Mutex
	closed   bool
}

// New wraps pools in a DB. Adapters (package sqlite and postgres) call it;
// applications normally use sqlite.Open or postgres.Open.
func New(write, read *sql.DB, d Dialect) *DB {
	if read == nil {
		read = write
	}
	return &DB{Write: write, Read: read, Dialect: d}
}

// Close closes both pools.
func (db *DB) Close() error {
	db.closeMu.Lock()
	defer db.closeMu.Unlock()
	if db.closed {
		return nil
	}
	db.closed = true
	err := db.Write.Close()
	if db.Read != db.Write {
		err = errors.Join(err, db.Read.Close())
	}
	if db.Locks != nil && db.Locks != db.Write {
		err = errors.Join(err, db.Locks.Close())
	}
	return err
}

// Tx is a write transaction. It embeds *sql.Tx, so all of its methods are
// available, and adds the dialect and commit hooks.
//
// A Tx is used by one goroutine at a time.
type Tx struct {
	*sql.Tx
	// Dialect is the dialect of the DB the transaction belongs to.
	Dialect  Dialect
	db       *DB
	onCommit []func()
	locks    map[string]bool // names taken by Lock
	// ctx is the context the transaction began with (for the deferred
	// writes, which run in Commit); deferred holds them in the order
	// Defer was called, flushers the function of each key.
	ctx      context.Context
	deferred []deferredItem
	flushers map[string]Flusher
	keys     []string // keys of flushers, in the order first deferred
}

// Flusher writes the items deferred under one key (Tx.Defer), in the
// order they were deferred, inside the transaction, just before it
// commits.
type Flusher func(ctx context.Context, tx *Tx, items []any) error

type deferredItem struct {
	key  string
	item any
}

// Defer adds item to the writes deferred under key, to be written by
// flush (the first one given for key is used) right before the
// transaction commits: a handler that moves a shared aggregate (a counter,
// a sum) can leave the arithmetic of a whole batch to one write per row,
// and write the rows in one fixed order. The items of work rolled back to
// a savepoint (Savepoint) are dropped with it. An error of a flush rolls
// the transaction back and is returned by Commit.
func (tx *Tx) Defer(key string, item any, flush Flusher) {
	if tx.flushers == nil {
		tx.flushers = make(map[string]Flusher)
	}
	if _, ok := tx.flushers[key]; !ok {
		tx.flushers[key] = flush
		tx.keys = append(tx.keys, key)
	}
	tx.deferred = append(tx.deferred, deferredItem{key: key, item: item})
}

// flushDeferred runs the flushers, key by key in the order their keys were
// first deferred.
func (tx *Tx) flushDeferred() error {
	if len(tx.deferred) == 0 {
		return nil
	}
	ctx := tx.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	items := make([]any, 0, len(tx.deferred))
	for _, key := range tx.keys {
		items = items[:0]
		for _, d := range tx.deferred {
			if d.key == key {
				items = append(items, d.item)
			}
		}
		if len(items) == 0 {
			continue
		}
		if err := tx.flushers[key](ctx, tx, items); err != nil {
			return fmt.Errorf("sqldb: deferred writes %s: %w", key, err)
		}
	}
	tx.deferred = nil
	return nil
}

// DB returns the handle the transaction belongs to.
func (tx *Tx) DB() *DB { return tx.db }

// OnCommit registers f to run after the transaction commits successfully.
// Hooks run in registration order, on the committing goroutine; they are
// dropped on rollback. Typical use: waking the outbox relay.
func (tx *Tx) OnCommit(f func()) { tx.onCommit = append(tx.onCommit, f) }

// Savepoint runs fn under the savepoint name (an SQL identifier): when fn
// returns an error, its writes are rolled back — and so are the commit
// hooks it registered, which then never run — and the transaction goes on.
// fnErr is fn's error; dbErr is an error of the savepoint statements
// themselves, after which the transaction must be rolled back.
//
// Use it instead of raw SAVEPOINT statements whenever fn may register
// commit hooks (a hook of rolled-back work must not run: a cache filled
// from it would hold state that was never committed).
func (tx *Tx) Savepoint(ctx context.Context, name string, fn func() error) (fnErr, dbErr error) {
	if _, err := tx.ExecContext(ctx, "SAVEPOINT "+name); err != nil {
		return nil, fmt.Errorf("sqldb: savepoint %s: %w", name, err)
	}
	hooks, deferred := len(tx.onCommit), len(tx.deferred)
	if fnErr = fn(); fnErr != nil {
		clear(tx.onCommit[hooks:])
		tx.onCommit = tx.onCommit[:hooks]
		clear(tx.deferred[deferred:])
		tx.deferred = tx.deferred[:deferred]
		if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+name); err != nil {
			return fnErr, fmt.Errorf("sqldb: rollback to savepoint %s: %w", name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fnErr, fmt.Errorf("sqldb: release savepoint %s: %w", name, err)
	}
	return fnErr, nil
}

// Begin starts a write transaction. Callers must Commit or Rollback it;
// prefer InTx.
func (db *DB) Begin(ctx context.Context) (*Tx, error) {
	stx, err := db.Write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqldb: begin: %w", err)
	}
	return &Tx{Tx: stx, Dialect: db.Dialect, db: db, ctx: ctx}, nil
}

// Commit writes the deferred writes (Defer), commits the transaction,
// then runs its commit hooks. If a deferred write fails, the transaction
// is rolled back and the error returned.
func (tx *Tx) Commit() error {
	if err := tx.flushDeferred(); err != nil {
		_ = tx.Tx.Rollback()
		return err
	}
	if err := tx.Tx.Commit(); err != nil {
		return fmt.Errorf("sqldb: commit: %w", err)
	}
	hooks := tx.onCommit
	tx.onCommit = nil
	for _, f := range hooks {
		f()
	}
	return nil
}

// InTx runs fn in a write transaction and commits it when fn returns nil.
// When fn returns an error or panics, the transaction is rolled back (and
// the panic goes on).
func (db *DB) InTx(ctx context.Context, fn func(*Tx) error) (err error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
