package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// SessionLock is a PostgreSQL session-level advisory lock held on a
// dedicated connection taken from a pool: the way several processes elect
// the one that may do some work (the outbox relay of a schema, the runner
// of a projection). Losing the connection (server restart, network, the
// session killed) loses the lock; Ensure notices. It needs session-level
// connections (no transaction pooling in front of PostgreSQL).
//
// A SessionLock is used by one goroutine at a time.
type SessionLock struct {
	db   *sql.DB
	key  int64
	conn *sql.Conn
}

// NewSessionLock returns an unheld lock on key over db's connections.
// Prefer DB.SessionLock, which keeps lock connections out of the work pool.
func NewSessionLock(db *sql.DB, key int64) *SessionLock {
	return &SessionLock{db: db, key: key}
}

// SessionLock returns an unheld session lock on key whose connection comes
// from db.Locks (db.Write when nil). Holding one never takes a connection
// the holder then needs for its work: with every lock on the work pool, a
// pool of N connections and N runners that each took their lock first
// waited for a free connection forever (TestServeMultiProcess hung so).
func (db *DB) SessionLock(key int64) *SessionLock {
	pool := db.Locks
	if pool == nil {
		pool = db.Write
	}
	return NewSessionLock(pool, key)
}

// Ensure reports whether this holder has the lock, taking it if it is free.
// It checks a held lock's connection first, so call it before each unit of
// work that needs the lock.
func (l *SessionLock) Ensure(ctx context.Context) (bool, error) {
	if l.conn != nil {
		// A session lock lasts as long as the session: a live connection
		// still holds it.
		if _, err := l.conn.ExecContext(ctx, `SELECT 1`); err == nil {
			return true, nil
		}
		l.drop()
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("sqldb: session lock connection: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&ok); err != nil {
		discard(conn)
		return false, fmt.Errorf("sqldb: try session lock: %w", err)
	}
	if !ok {
		_ = conn.Close()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

// Release gives the lock up: unlocked explicitly, so that another holder
// can take over at once, and dropped with its connection when that fails.
func (l *SessionLock) Release() {
	if l.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var ok bool
	if err := l.conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, l.key).Scan(&ok); err != nil || !ok {
		l.drop()
		return
	}
	_ = l.conn.Close()
	l.conn = nil
}

// drop gives the lock up by closing its connection for good (never by
// returning it to the pool, where it would keep the lock).
func (l *SessionLock) drop() {
	if l.conn != nil {
		discard(l.conn)
		l.conn = nil
	}
}

// discard closes the driver connection behind c instead of pooling it.
func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}
