package shipping

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

// Component is the migration component of the shipping tables.
const Component = "shipping"

//go:embed sql/*.sql
var sqlFS embed.FS

// Migrations returns the shipping tables' schema changes.
func Migrations() []sqldb.Migration {
	b, err := sqlFS.ReadFile("sql/0001_shipping.sql")
	if err != nil {
		panic(err) // embedded at build time
	}
	return []sqldb.Migration{{Component: Component, Version: 1, SQLite: string(b), Postgres: string(b)}}
}

// Migrate applies everything the shipping database needs.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if err := db.Migrate(ctx, consumer.Migrations(), outbox.Migrations(), Migrations()); err != nil {
		return fmt.Errorf("shipping: migrate: %w", err)
	}
	return nil
}

// Statuses counts shipments per status (for checks and tests).
func Statuses(ctx context.Context, db *sqldb.DB) (map[Status]int, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT status, COUNT(*) FROM shipping_orders GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("shipping: statuses: %w", err)
	}
	defer rows.Close()
	out := map[Status]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("shipping: statuses: %w", err)
		}
		out[Status(s)] = n
	}
	return out, rows.Err()
}

// loadOrder reads the order's row, locked on PostgreSQL (where it is
// created first if needed).
func loadOrder(ctx context.Context, tx *sqldb.Tx, orderID string, now time.Time) (Order, error) {
	// On PostgreSQL the row is created if needed, locked and read in one
	// statement (see inventory's loadOrder: an upsert whose no-op update
	// locks the row, RETURNING it). SQLite has one writer: a missing row is
	// read as a pending order and saveOrder inserts it.
	const cols = `user_id, country, reserved_event, reserved_corr, undo_event, undo_corr, undo_cause,
		status, shipment_id, carrier, tracking_number`
	q, args := `SELECT `+cols+` FROM shipping_orders WHERE order_id = $1`, []any{orderID}
	if tx.Dialect == sqldb.Postgres {
		q = `INSERT INTO shipping_orders (order_id, status, updated_at) VALUES ($1, 'pending', $2)
			ON CONFLICT (order_id) DO UPDATE SET order_id = excluded.order_id RETURNING ` + cols
		args = append(args, now.UnixMicro())
	}
	o := Order{OrderID: orderID}
	var status, cause string
	err := tx.QueryRowContext(ctx, q, args...).
		Scan(&o.UserID, &o.Country, &o.Reserved.EventID, &o.Reserved.CorrelationID, &o.Undo.EventID, &o.Undo.CorrelationID,
			&cause, &status, &o.ShipmentID, &o.Carrier, &o.TrackingNumber)
	switch {
	case errors.Is(err, sql.ErrNoRows) && tx.Dialect != sqldb.Postgres:
		return Order{OrderID: orderID, Status: StatusPending}, nil
	case err != nil:
		return Order{}, fmt.Errorf("shipping: load order %s: %w", orderID, err)
	}
	o.Status, o.UndoCause = Status(status), schema.Cause(cause)
	return o, nil
}

// saveOrder writes o, inserting its row if loadOrder found none.
func saveOrder(ctx context.Context, tx *sqldb.Tx, o Order, now time.Time) error {
	_, err := consumer.Exec(ctx, tx, `INSERT INTO shipping_orders (order_id, user_id, country, reserved_event, reserved_corr,
		undo_event, undo_corr, undo_cause, status, shipment_id, carrier, tracking_number, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (order_id) DO UPDATE SET user_id = excluded.user_id, country = excluded.country,
		reserved_event = excluded.reserved_event, reserved_corr = excluded.reserved_corr, undo_event = excluded.undo_event,
		undo_corr = excluded.undo_corr, undo_cause = excluded.undo_cause, status = excluded.status,
		shipment_id = excluded.shipment_id, carrier = excluded.carrier, tracking_number = excluded.tracking_number,
		updated_at = excluded.updated_at`,
		o.OrderID, o.UserID, o.Country, o.Reserved.EventID, o.Reserved.CorrelationID, o.Undo.EventID, o.Undo.CorrelationID,
		string(o.UndoCause), string(o.Status), o.ShipmentID, o.Carrier, o.TrackingNumber, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("shipping: save order %s: %w", o.OrderID, err)
	}
	return nil
}
