package inventory

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
)

// Component is the migration component of the inventory tables.
const Component = "inventory"

//go:embed sql/*.sql
var sqlFS embed.FS

// ErrStockChanged: a guarded stock update found less than Plan saw (a
// concurrent writer on PostgreSQL). The handler's transaction rolls back
// to its savepoint and the event is retried.
var ErrStockChanged = errors.New("inventory: stock changed under the reservation")

// Migrations returns the inventory tables' schema changes.
func Migrations() []sqldb.Migration {
	b, err := sqlFS.ReadFile("sql/0001_inventory.sql")
	if err != nil {
		panic(err) // embedded at build time
	}
	return []sqldb.Migration{{Component: Component, Version: 1, SQLite: string(b), Postgres: string(b)}}
}

// Migrate applies everything the inventory database needs and seeds the
// stock of cat's products that are not there yet (existing stock is
// never reset, so a restart keeps reservations).
func Migrate(ctx context.Context, db *sqldb.DB, cat *catalog.Catalog) error {
	if err := db.Migrate(ctx, consumer.Migrations(), outbox.Migrations(), Migrations()); err != nil {
		return fmt.Errorf("inventory: migrate: %w", err)
	}
	return db.InTx(ctx, func(tx *sqldb.Tx) error {
		for _, p := range cat.Products() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO inventory_stock (product_id, initial, available, reserved)
				VALUES ($1, $2, $2, 0) ON CONFLICT (product_id) DO NOTHING`, p.ID, p.Stock); err != nil {
				return fmt.Errorf("inventory: seed %s: %w", p.ID, err)
			}
		}
		return nil
	})
}

// Level is the stock of one product.
type Level struct {
	Initial, Available, Reserved int64
}

// Levels returns the stock of every product.
func Levels(ctx context.Context, db *sqldb.DB) (map[string]Level, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT product_id, initial, available, reserved FROM inventory_stock`)
	if err != nil {
		return nil, fmt.Errorf("inventory: levels: %w", err)
	}
	defer rows.Close()
	out := map[string]Level{}
	for rows.Next() {
		var id string
		var l Level
		if err := rows.Scan(&id, &l.Initial, &l.Available, &l.Reserved); err != nil {
			return nil, fmt.Errorf("inventory: levels: %w", err)
		}
		out[id] = l
	}
	return out, rows.Err()
}

// Statuses counts orders per reservation status (for checks and tests).
func Statuses(ctx context.Context, db *sqldb.DB) (map[Status]int, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT status, COUNT(*) FROM inventory_orders GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("inventory: statuses: %w", err)
	}
	defer rows.Close()
	out := map[Status]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("inventory: statuses: %w", err)
		}
		out[Status(s)] = n
	}
	return out, rows.Err()
}

// lockStock serialises the transactions of the inventory service on
// PostgreSQL: a consumer batch handles many orders, locking each order's
// row and its products, and two batches locking p-1 then p-5 and p-5 then
// p-1 (or an order row, then the products) deadlock. Every handler takes
// this lock before its first row lock (re-entrant within a transaction);
// available and move take it too, for callers outside the handler.
func lockStock(ctx context.Context, tx *sqldb.Tx) error {
	if err := tx.Lock(ctx, "inventory-stock"); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	return nil
}

func forUpdate(d sqldb.Dialect) string {
	if d == sqldb.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// loadOrder reads the order's row, locked on PostgreSQL (where it is
// created first if needed).
func loadOrder(ctx context.Context, tx *sqldb.Tx, orderID string, now time.Time) (Order, error) {
	// On PostgreSQL the row is created if needed and locked, so that
	// concurrent transactions about the order queue on it, and read, in one
	// statement: an upsert whose no-op update takes the row lock as SELECT …
	// FOR UPDATE would, RETURNING the row. SQLite has one writer: a missing
	// row is read as a pending order and saveOrder inserts it.
	const cols = `user_id, items, paid_event, paid_corr, undo_event, undo_corr, undo_cause, status`
	q, args := `SELECT `+cols+` FROM inventory_orders WHERE order_id = $1`, []any{orderID}
	if tx.Dialect == sqldb.Postgres {
		q = `INSERT INTO inventory_orders (order_id, status, updated_at) VALUES ($1, 'pending', $2)
			ON CONFLICT (order_id) DO UPDATE SET order_id = excluded.order_id RETURNING ` + cols
		args = append(args, now.UnixMicro())
	}
	o := Order{OrderID: orderID}
	var items sql.NullString
	var status, cause string
	err := tx.QueryRowContext(ctx, q, args...).
		Scan(&o.UserID, &items, &o.Paid.EventID, &o.Paid.CorrelationID, &o.Undo.EventID, &o.Undo.CorrelationID, &cause, &status)
	switch {
	case errors.Is(err, sql.ErrNoRows) && tx.Dialect != sqldb.Postgres:
		return Order{OrderID: orderID, Status: StatusPending}, nil
	case err != nil:
		return Order{}, fmt.Errorf("inventory: load order %s: %w", orderID, err)
	}
	if items.Valid {
		if err := json.Unmarshal([]byte(items.String), &o.Items); err != nil {
			return Order{}, fmt.Errorf("inventory: order %s items: %w", orderID, err)
		}
		if o.Items == nil {
			o.Items = []schema.Line{}
		}
	}
	o.Status, o.UndoCause = Status(status), schema.Cause(cause)
	return o, nil
}

// saveOrder writes o, inserting its row if loadOrder found none.
func saveOrder(ctx context.Context, tx *sqldb.Tx, o Order, now time.Time) error {
	var items any
	if o.Items != nil {
		b, err := json.Marshal(o.Items)
		if err != nil {
			return fmt.Errorf("inventory: order %s items: %w", o.OrderID, err)
		}
		items = string(b)
	}
	_, err := consumer.Exec(ctx, tx, `INSERT INTO inventory_orders (order_id, user_id, items, paid_event, paid_corr,
		undo_event, undo_corr, undo_cause, status, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (order_id) DO UPDATE SET user_id = excluded.user_id, items = excluded.items, paid_event = excluded.paid_event,
		paid_corr = excluded.paid_corr, undo_event = excluded.undo_event, undo_corr = excluded.undo_corr,
		undo_cause = excluded.undo_cause, status = excluded.status, updated_at = excluded.updated_at`,
		o.OrderID, o.UserID, items, o.Paid.EventID, o.Paid.CorrelationID, o.Undo.EventID, o.Undo.CorrelationID,
		string(o.UndoCause), string(o.Status), now.UnixMicro())
	if err != nil {
		return fmt.Errorf("inventory: save order %s: %w", o.OrderID, err)
	}
	return nil
}

// available reads the available stock of the lines' products, locking
// the rows on PostgreSQL (in product order).
func available(ctx context.Context, tx *sqldb.Tx, lines []schema.Line) (map[string]int64, error) {
	out := map[string]int64{}
	if len(lines) == 0 {
		return out, nil
	}
	if err := lockStock(ctx, tx); err != nil {
		return nil, err
	}
	var sb strings.Builder
	args := make([]any, len(lines))
	sb.WriteString(`SELECT product_id, available FROM inventory_stock WHERE product_id IN (`)
	for i, l := range lines {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("$" + strconv.Itoa(i+1))
		args[i] = l.ProductID
	}
	sb.WriteString(`) ORDER BY product_id` + forUpdate(tx.Dialect))
	rows, err := tx.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("inventory: read stock: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("inventory: read stock: %w", err)
		}
		out[id] = n
	}
	return out, rows.Err()
}

// move moves quantity of each line from available to reserved (sign +1)
// or back (sign -1), guarded so that neither goes negative.
func move(ctx context.Context, tx *sqldb.Tx, lines []schema.Line, sign int64) error {
	if err := lockStock(ctx, tx); err != nil {
		return err
	}
	for _, l := range lines {
		q := sign * int64(l.Quantity)
		res, err := consumer.Exec(ctx, tx, `UPDATE inventory_stock SET available = available - $2, reserved = reserved + $2
			WHERE product_id = $1 AND available - $2 >= 0 AND reserved + $2 >= 0`, l.ProductID, q)
		if err != nil {
			return fmt.Errorf("inventory: move %d of %s: %w", q, l.ProductID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("inventory: move %d of %s: %w", q, l.ProductID, err)
		} else if n != 1 {
			return fmt.Errorf("%w: %s, %d", ErrStockChanged, l.ProductID, q)
		}
	}
	return nil
}
