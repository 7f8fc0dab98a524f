package analytics

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
)

// Component is the migration component of the analytics tables.
const Component = "analytics"

//go:embed sql/*.sql
var sqlFS embed.FS

// Migrations returns the analytics tables' schema changes.
func Migrations() []sqldb.Migration { return sqldb.MustMigrationsFS(sqlFS, "sql", Component) }

// Migrate applies everything the analytics database needs: the consumer's
// tables and the analytics tables. The service publishes nothing, so it
// has no outbox.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if err := db.Migrate(ctx, consumer.Migrations(), Migrations()); err != nil {
		return fmt.Errorf("analytics: migrate: %w", err)
	}
	return nil
}

// orderRow is one order as analytics stores it.
type orderRow struct {
	OrderID  string
	Status   Status
	Currency string
	Lines    []Line
}

// loadOrder reads order id (locked on PostgreSQL); an order not stored yet
// is a row with StatusNone.
func loadOrder(ctx context.Context, tx *sqldb.Tx, id string) (orderRow, error) {
	lock := ""
	if tx.Dialect == sqldb.Postgres {
		lock = " FOR UPDATE"
	}
	r := orderRow{OrderID: id}
	var status, items string
	err := tx.QueryRowContext(ctx, `SELECT status, currency, items FROM analytics_orders WHERE order_id = $1`+lock, id).
		Scan(&status, &r.Currency, &items)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return r, nil // the order's first event: saveOrder inserts the row
	case err != nil:
		return r, fmt.Errorf("analytics: load order %s: %w", id, err)
	}
	r.Status = Status(status)
	if items != "" {
		if err := json.Unmarshal([]byte(items), &r.Lines); err != nil {
			return r, fmt.Errorf("analytics: order %s items: %w", id, err)
		}
	}
	return r, nil
}

// saveOrder writes r, inserting the row of a new order: one statement.
// (The handler's transaction lock serialises analytics transactions, so
// no other one inserts the same order in between; the upsert would be
// right even if one did.)
func saveOrder(ctx context.Context, tx *sqldb.Tx, r orderRow, now time.Time) error {
	items := ""
	if len(r.Lines) > 0 {
		b, err := json.Marshal(r.Lines)
		if err != nil {
			return fmt.Errorf("analytics: order %s: %w", r.OrderID, err)
		}
		items = string(b)
	}
	if _, err := consumer.Exec(ctx, tx, `INSERT INTO analytics_orders (order_id, status, currency, items, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, currency = excluded.currency, items = excluded.items, updated_at = excluded.updated_at`,
		r.OrderID, string(r.Status), r.Currency, items, now.UnixMicro()); err != nil {
		return fmt.Errorf("analytics: save order %s: %w", r.OrderID, err)
	}
	return nil
}

// moveCount moves one order from the count of prev (none for StatusNone)
// to the count of next. The rows are touched in name order, so that two
// transactions on PostgreSQL lock them in the same order.
func moveCount(ctx context.Context, tx *sqldb.Tx, prev, next Status) error {
	deltas := map[Status]int64{next: 1}
	if prev != StatusNone {
		deltas[prev] = -1
	}
	keys := make([]Status, 0, len(deltas))
	for s := range deltas {
		keys = append(keys, s)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for _, s := range keys {
		// A decrement is a plain UPDATE: the row exists (it was counted
		// in), and an upsert would check CHECK (n >= 0) on -1 first.
		q := `INSERT INTO analytics_status_counts (status, n) VALUES ($1, 1)
			ON CONFLICT (status) DO UPDATE SET n = analytics_status_counts.n + 1`
		if deltas[s] < 0 {
			q = `UPDATE analytics_status_counts SET n = n - 1 WHERE status = $1`
		}
		if _, err := consumer.Exec(ctx, tx, q, string(s)); err != nil {
			return fmt.Errorf("analytics: count %s: %w", s, err)
		}
	}
	return nil
}

// addPayment adds amount (negative for a refund) to the minute of at,
// once per order and kind.
func addPayment(ctx context.Context, tx *sqldb.Tx, orderID, kind, currency string, amount int64, at time.Time) error {
	res, err := consumer.Exec(ctx, tx, `INSERT INTO analytics_payments (order_id, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING`, orderID, kind)
	if err != nil {
		return fmt.Errorf("analytics: %s of %s: %w", kind, orderID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		if err != nil {
			return fmt.Errorf("analytics: %s of %s: %w", kind, orderID, err)
		}
		return nil // counted before
	}
	if _, err := consumer.Exec(ctx, tx, `INSERT INTO analytics_revenue (minute, currency, amount_minor) VALUES ($1, $2, $3)
		ON CONFLICT (minute, currency) DO UPDATE SET amount_minor = analytics_revenue.amount_minor + excluded.amount_minor`,
		Minute(at).Unix(), currency, amount); err != nil {
		return fmt.Errorf("analytics: revenue of %s: %w", orderID, err)
	}
	return nil
}

func addSales(ctx context.Context, tx *sqldb.Tx, sales []ProductSales) error {
	for _, s := range sales {
		if _, err := consumer.Exec(ctx, tx, `INSERT INTO analytics_products (product_id, currency, units, revenue_minor) VALUES ($1, $2, $3, $4)
			ON CONFLICT (product_id, currency) DO UPDATE SET units = analytics_products.units + excluded.units,
			revenue_minor = analytics_products.revenue_minor + excluded.revenue_minor`,
			s.ProductID, s.Currency, s.Units, s.RevenueMinor); err != nil {
			return fmt.Errorf("analytics: sales of %s: %w", s.ProductID, err)
		}
	}
	return nil
}

// Reader reads the aggregates. It is safe for concurrent use.
type Reader struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewReader returns a reader of the analytics database db; now decides
// which minutes are the last 60 (nil: time.Now).
func NewReader(db *sqldb.DB, now func() time.Time) *Reader {
	if now == nil {
		now = time.Now
	}
	return &Reader{db: db, now: now}
}

// Summary reads the summary as of now.
func (r *Reader) Summary(ctx context.Context) (Summary, error) {
	now := r.now().UTC()
	s := Summary{OrdersByStatus: map[Status]int64{}, Revenue: map[string]int64{}, RevenueByMinute: []MinuteRevenue{},
		TopProducts: []ProductSales{}, AsOf: now}
	for _, st := range Statuses {
		s.OrdersByStatus[st] = 0
	}
	// One read transaction: the four reads see one snapshot.
	tx, err := r.db.Read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s, fmt.Errorf("analytics: summary: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	err = each(ctx, tx, `SELECT status, n FROM analytics_status_counts`, nil, func(sc scanner) error {
		var st string
		var n int64
		if err := sc.Scan(&st, &n); err != nil {
			return err
		}
		if st != "" {
			s.OrdersByStatus[Status(st)] = n
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	err = each(ctx, tx, `SELECT currency, CAST(SUM(amount_minor) AS BIGINT) FROM analytics_revenue GROUP BY currency`, nil, func(sc scanner) error {
		var cur string
		var sum int64
		if err := sc.Scan(&cur, &sum); err != nil {
			return err
		}
		s.Revenue[cur] = sum
		return nil
	})
	if err != nil {
		return s, err
	}
	from := Minute(now).Add(-Window + time.Minute).Unix()
	err = each(ctx, tx, `SELECT minute, currency, amount_minor FROM analytics_revenue WHERE minute >= $1 ORDER BY minute, currency`,
		[]any{from}, func(sc scanner) error {
			var m MinuteRevenue
			var minute int64
			if err := sc.Scan(&minute, &m.Currency, &m.AmountMinor); err != nil {
				return err
			}
			m.Minute = time.Unix(minute, 0).UTC()
			s.RevenueByMinute = append(s.RevenueByMinute, m)
			return nil
		})
	if err != nil {
		return s, err
	}
	err = each(ctx, tx, `SELECT product_id, currency, units, revenue_minor FROM analytics_products
		ORDER BY units DESC, revenue_minor DESC, product_id, currency LIMIT $1`, []any{TopN}, func(sc scanner) error {
		var p ProductSales
		if err := sc.Scan(&p.ProductID, &p.Currency, &p.Units, &p.RevenueMinor); err != nil {
			return err
		}
		s.TopProducts = append(s.TopProducts, p)
		return nil
	})
	return s, err
}

type scanner interface{ Scan(...any) error }

func each(ctx context.Context, db *sql.Tx, q string, args []any, fn func(scanner) error) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("analytics: summary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("analytics: summary: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("analytics: summary: %w", err)
	}
	return nil
}
