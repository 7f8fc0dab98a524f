package projection

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"time"
)

// leaderLock is the PostgreSQL session advisory lock that lets one runner
// per projection and database apply. It lives on a dedicated connection;
// losing that connection loses the lock, which ensure notices.
type leaderLock struct {
	db   *sql.DB
	key  int64
	conn *sql.Conn
}

// ensure reports whether this runner holds the lock, taking it if free.
func (l *leaderLock) ensure(ctx context.Context) (bool, error) {
	if l.conn != nil {
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
		return false, fmt.Errorf("projection: leader connection: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&ok); err != nil {
		discard(conn)
		return false, fmt.Errorf("projection: try leader lock: %w", err)
	}
	if !ok {
		_ = conn.Close()
		return false, nil
	}
	l.conn = conn
	return true, nil
}

// release unlocks (or drops the connection when that fails).
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

func (l *leaderLock) drop() {
	if l.conn != nil {
		discard(l.conn)
		l.conn = nil
	}
}

// discard closes the driver connection behind c instead of pooling it
// (a pooled connection would keep the lock).
func discard(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}
