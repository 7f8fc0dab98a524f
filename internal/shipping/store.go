package shipping

import (
	"context"
	"embed"
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

func loadOrder(ctx context.Context, tx *sqldb.Tx, orderID string, now time.Time) (Order, error) {
	if _, err := consumer.Exec(ctx, tx, `INSERT INTO shipping_orders (order_id, status, updated_at) VALUES ($1, 'pending', $2)
		ON CONFLICT (order_id) DO NOTHING`, orderID, now.UnixMicro()); err != nil {
		return Order{}, fmt.Errorf("shipping: order %s: %w", orderID, err)
	}
	lock := ""
	if tx.Dialect == sqldb.Postgres {
		lock = " FOR UPDATE"
	}
	o := Order{OrderID: orderID}
	var status, cause string
	err := tx.QueryRowContext(ctx, `SELECT user_id, country, reserved_event, reserved_corr, undo_event, undo_corr, undo_cause,
		status, shipment_id, carrier, tracking_number FROM shipping_orders WHERE order_id = $1`+lock, orderID).
		Scan(&o.UserID, &o.Country, &o.Reserved.EventID, &o.Reserved.CorrelationID, &o.Undo.EventID, &o.Undo.CorrelationID,
			&cause, &status, &o.ShipmentID, &o.Carrier, &o.TrackingNumber)
	if err != nil {
		return Order{}, fmt.Errorf("shipping: load order %s: %w", orderID, err)
	}
	o.Status, o.UndoCause = Status(status), schema.Cause(cause)
	return o, nil
}

func saveOrder(ctx context.Context, tx *sqldb.Tx, o Order, now time.Time) error {
	_, err := consumer.Exec(ctx, tx, `UPDATE shipping_orders SET user_id = $2, country = $3, reserved_event = $4, reserved_corr = $5,
		undo_event = $6, undo_corr = $7, undo_cause = $8, status = $9, shipment_id = $10, carrier = $11, tracking_number = $12,
		updated_at = $13 WHERE order_id = $1`,
		o.OrderID, o.UserID, o.Country, o.Reserved.EventID, o.Reserved.CorrelationID, o.Undo.EventID, o.Undo.CorrelationID,
		string(o.UndoCause), string(o.Status), o.ShipmentID, o.Carrier, o.TrackingNumber, now.UnixMicro())
	if err != nil {
		return fmt.Errorf("shipping: save order %s: %w", o.OrderID, err)
	}
	return nil
}
