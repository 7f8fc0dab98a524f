package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"strings"
)

// Lock takes the transaction-scoped lock called name in this DB's schema
// and holds it until the transaction ends: on PostgreSQL an advisory
// transaction lock (pg_advisory_xact_lock), on SQLite nothing, since its
// one writer runs one transaction at a time anyway. A second Lock of the
// same name in the same transaction returns at once.
//
// Use it to serialise the transactions that change a few hot rows in an
// order nobody controls, before they touch the first of them: consumer
// batch transactions handle many events each, and two of them that
// update the same aggregates (counters, a product's stock) in different
// orders deadlock on PostgreSQL. Under `causeway serve` that was 1,234
// deadlocks in one minute of loadgen --max, each a rolled-back batch,
// and the saga crawled at 9 orders/s. Every transaction that takes the
// lock first never waits on another one of them for those rows.
func (tx *Tx) Lock(ctx context.Context, name string) error {
	if tx.Dialect != Postgres {
		return nil
	}
	if tx.locks[name] {
		return nil
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte("causeway-xact:" + tx.db.Schema + ":" + name))
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return fmt.Errorf("sqldb: lock %s: %w", name, err)
	}
	if tx.locks == nil {
		tx.locks = make(map[string]bool)
	}
	tx.locks[name] = true
	return nil
}

// IsConflict reports whether err is a transaction that PostgreSQL aborted
// to break a deadlock (SQLSTATE 40P01) or a serialization failure (40001):
// nothing of it happened, and running it again soon is the remedy.
func IsConflict(err error) bool {
	var s interface{ SQLState() string }
	if !errors.As(err, &s) {
		return false
	}
	switch s.SQLState() {
	case "40P01", "40001":
		return true
	}
	return false
}

// IsUnavailable reports whether err says the database cannot be reached
// or is going away, not that the statement was wrong: a connection
// failure (a net.Error, driver.ErrBadConn, sql.ErrConnDone, a connection
// cut mid-message — io.ErrUnexpectedEOF, io.EOF — a driver error that is
// safe to retry because the connection was never used, such as pgx's
// "conn closed" — SQLSTATE class 08), PostgreSQL
// shutting down or starting up (57P01, 57P02, 57P03) or out of
// connections (53300). An API answers such an error with 503 and
// Retry-After; the request may simply be retried.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		code := s.SQLState()
		switch {
		case strings.HasPrefix(code, "08"), code == "57P01", code == "57P02", code == "57P03", code == "53300":
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	// A driver error that says it happened before the connection was
	// used (pgconn: "conn closed", the socket went away under a pooled
	// connection) is a connection failure too.
	var retry interface{ SafeToRetry() bool }
	return errors.As(err, &retry) && retry.SafeToRetry()
}
