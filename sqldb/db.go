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
	hooks := len(tx.onCommit)
	if fnErr = fn(); fnErr != nil {
		clear(tx.onCommit[hooks:])
		tx.onCommit = tx.onCommit[:hooks]
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
	return &Tx{Tx: stx, Dialect: db.Dialect, db: db}, nil
}

// Commit commits the transaction, then runs its commit hooks.
func (tx *Tx) Commit() error {
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
