package outbox

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// leaderLock is the PostgreSQL session advisory lock that elects the one
// publishing relay of a schema. It lives on a dedicated connection taken
// from the pool; losing that connection (server restart, network, the
// session killed) loses the lock, which ensure notices before every batch.
type leaderLock struct {
	db   *sql.DB
	key  int64
	conn *sql.Conn
}

// ensure reports whether this relay holds the lock, taking it if it is free.
func (l *leaderLock) ensure(ctx context.Context) (bool, error) {
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
		return false, fmt.Errorf("outbox: leader connection: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&ok); err != nil {
		discard(conn)
		return false, fmt.Errorf("outbox: try leader lock: %w", err)
	}
	if !ok {
		_ = conn.Close()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

// release gives the lock up when Run ends: unlocked explicitly, so that
// another relay can take over at once, and dropped with its connection when
// that fails.
func (l *leaderLock) release() {
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
func (l *leaderLock) drop() {
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
