package sqldb_test

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/causeway-dev/causeway/sqldb"
)

// retryErr is a driver error saying whether it is safe to retry, as
// pgconn's "conn closed" does.
type retryErr bool

func (e retryErr) Error() string     { return "conn closed" }
func (e retryErr) SafeToRetry() bool { return bool(e) }

type sqlStateErr string

func (e sqlStateErr) Error() string    { return "pg: " + string(e) }
func (e sqlStateErr) SQLState() string { return string(e) }

func TestIsUnavailable(t *testing.T) {
	// A real dial error: nothing listens on a port just closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, dialErr := net.Dial("tcp", addr)
	if dialErr == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"dial refused", fmt.Errorf("ordersvc: place: %w", dialErr), true},
		{"bad conn", fmt.Errorf("x: %w", driver.ErrBadConn), true},
		{"connection failure 08006", sqlStateErr("08006"), true},
		{"admin shutdown 57P01", fmt.Errorf("x: %w", sqlStateErr("57P01")), true},
		{"starting up 57P03", sqlStateErr("57P03"), true},
		{"too many connections", sqlStateErr("53300"), true},
		{"unique violation", sqlStateErr("23505"), false},
		{"deadlock", sqlStateErr("40P01"), false},
		{"plain error", errors.New("boom"), false},
		{"conn closed (safe to retry)", fmt.Errorf("ordersvc: place: sqldb: begin: %w", retryErr(true)), true},
		{"not safe to retry", retryErr(false), false},
		{"connection cut mid-message", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), true},
		{"connection done", fmt.Errorf("x: %w", sql.ErrConnDone), true},
		{"tx done is a bug, not an outage", sql.ErrTxDone, false},
	}
	for _, tt := range tests {
		if got := sqldb.IsUnavailable(tt.err); got != tt.want {
			t.Errorf("%s: IsUnavailable = %v, want %v", tt.name, got, tt.want)
		}
	}
}
