package payment

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
)

// Component is the migration component of the payment tables.
const Component = "payment"

//go:embed sql/*.sql
var sqlFS embed.FS

// Migrations returns the payment tables' schema changes.
func Migrations() []sqldb.Migration { return sqldb.MustMigrationsFS(sqlFS, "sql", Component) }

// Migrate applies everything the payment database needs: the consumer's
// tables, the outbox and the payment tables.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if err := db.Migrate(ctx, consumer.Migrations(), outbox.Migrations(), Migrations()); err != nil {
		return fmt.Errorf("payment: migrate: %w", err)
	}
	return nil
}

func lockSuffix(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// load reads the order's payment inside tx (locked on PostgreSQL); nil if
// there is none.
func load(ctx context.Context, tx *sqldb.Tx, orderID string) (*Payment, error) {
	var p Payment
	var status, cause string
	err := tx.QueryRowContext(ctx, `SELECT order_id, user_id, payment_id, amount_minor, currency, method, status, fail_reason, refund_cause
		FROM payments WHERE order_id = $1`+lockSuffix(tx.Dialect), orderID).
		Scan(&p.OrderID, &p.UserID, &p.PaymentID, &p.AmountMinor, &p.Currency, &p.Method, &status, &p.FailReason, &cause)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("payment: load %s: %w", orderID, err)
	}
	p.Status, p.RefundCause = Status(status), schema.Cause(cause)
	return &p, nil
}

// save writes p and its ledger entries (authorize and capture when it
// becomes captured — the simulated gateway authorises and captures in one
// call — refund when it becomes refunded). The ledger's primary key
// (order_id, kind) rejects a second authorisation, capture or refund of one
// order.
func save(ctx context.Context, tx *sqldb.Tx, p *Payment, eventID string, at time.Time) error {
	now := at.UnixMicro()
	_, err := consumer.Exec(ctx, tx, `INSERT INTO payments (order_id, user_id, payment_id, amount_minor, currency, method, status, fail_reason, refund_cause, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, refund_cause = excluded.refund_cause, updated_at = excluded.updated_at`,
		p.OrderID, p.UserID, p.PaymentID, p.AmountMinor, p.Currency, p.Method, string(p.Status), p.FailReason, string(p.RefundCause), now)
	if err != nil {
		return fmt.Errorf("payment: save %s: %w", p.OrderID, err)
	}
	var kinds []string
	switch p.Status {
	case StatusCaptured:
		kinds = []string{"authorize", "capture"}
	case StatusRefunded:
		kinds = []string{"refund"}
	default:
		return nil
	}
	for _, kind := range kinds {
		if _, err := consumer.Exec(ctx, tx, `INSERT INTO payment_ledger (order_id, kind, amount_minor, currency, event_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, p.OrderID, kind, p.AmountMinor, p.Currency, eventID, now); err != nil {
			return fmt.Errorf("payment: ledger %s %s: %w", kind, p.OrderID, err)
		}
	}
	return nil
}

// LedgerTotals are the sums of the ledger, per currency.
type LedgerTotals struct {
	Authorized, Captured, Refunded    map[string]int64
	Authorizations, Captures, Refunds int
}

// Totals sums the ledger (for checks and tests).
func Totals(ctx context.Context, db *sqldb.DB) (LedgerTotals, error) {
	t := LedgerTotals{Authorized: map[string]int64{}, Captured: map[string]int64{}, Refunded: map[string]int64{}}
	rows, err := db.Read.QueryContext(ctx, `SELECT kind, currency, COUNT(*), COALESCE(SUM(amount_minor), 0) FROM payment_ledger GROUP BY kind, currency`)
	if err != nil {
		return t, fmt.Errorf("payment: ledger totals: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, cur string
		var n int
		var sum int64
		if err := rows.Scan(&kind, &cur, &n, &sum); err != nil {
			return t, fmt.Errorf("payment: ledger totals: %w", err)
		}
		switch kind {
		case "authorize":
			t.Authorized[cur] += sum
			t.Authorizations += n
		case "capture":
			t.Captured[cur] += sum
			t.Captures += n
		case "refund":
			t.Refunded[cur] += sum
			t.Refunds += n
		}
	}
	return t, rows.Err()
}
