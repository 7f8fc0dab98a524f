package analytics

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// to the count of next. The move is deferred to the end of tx
// (sqldb.Tx.Defer): the batch's moves are summed per status and each
// status's row is written once, in status order.
func moveCount(tx *sqldb.Tx, prev, next Status) {
	tx.Defer("analytics-counts", countMove{prev: prev, next: next}, flushCounts)
}

// countMove is one order moving from prev to next.
type countMove struct{ prev, next Status }

// flushCounts writes the net change of each status count of items
// (countMove values).
func flushCounts(ctx context.Context, tx *sqldb.Tx, items []any) error {
	deltas := map[Status]int64{}
	for _, it := range items {
		m := it.(countMove)
		deltas[m.next]++
		if m.prev != StatusNone {
			deltas[m.prev]--
		}
	}
	for _, s := range sortedKeys(deltas, func(a, b Status) int { return strings.Compare(string(a), string(b)) }) {
		if deltas[s] == 0 {
			continue
		}
		// A count that goes down has its row already (the order was
		// counted there before); the CHECK (n >= 0) would refuse the
		// INSERT's proposed negative row before any conflict.
		q := `INSERT INTO analytics_status_counts (status, n) VALUES ($1, $2)
			ON CONFLICT (status) DO UPDATE SET n = analytics_status_counts.n + excluded.n`
		if deltas[s] < 0 {
			q = `UPDATE analytics_status_counts SET n = n + $2 WHERE status = $1`
		}
		if _, err := consumer.Exec(ctx, tx, q, string(s), deltas[s]); err != nil {
			return fmt.Errorf("analytics: count %s: %w", s, err)
		}
	}
	return nil
}

// sortedKeys returns the keys of m in the order of cmp: the deferred
// writes touch their rows in one fixed order, so that two transactions on
// PostgreSQL lock them in the same order.
func sortedKeys[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, cmp)
	return keys
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
	tx.Defer("analytics-revenue", revenue{minute: Minute(at).Unix(), currency: currency, amount: amount}, flushRevenue)
	return nil
}

// revenue is an amount of one currency in one minute.
type revenue struct {
	minute   int64
	currency string
	amount   int64
}

// flushRevenue adds the sums of items (revenue values) per minute and
// currency to analytics_revenue, in (minute, currency) order.
func flushRevenue(ctx context.Context, tx *sqldb.Tx, items []any) error {
	type key struct {
		minute   int64
		currency string
	}
	sums := map[key]int64{}
	for _, it := range items {
		r := it.(revenue)
		sums[key{r.minute, r.currency}] += r.amount
	}
	for _, k := range sortedKeys(sums, func(a, b key) int {
		return cmp.Or(cmp.Compare(a.minute, b.minute), strings.Compare(a.currency, b.currency))
	}) {
		if _, err := consumer.Exec(ctx, tx, `INSERT INTO analytics_revenue (minute, currency, amount_minor) VALUES ($1, $2, $3)
			ON CONFLICT (minute, currency) DO UPDATE SET amount_minor = analytics_revenue.amount_minor + excluded.amount_minor`,
			k.minute, k.currency, sums[k]); err != nil {
			return fmt.Errorf("analytics: revenue of minute %d: %w", k.minute, err)
		}
	}
	return nil
}

// addSales adds sales to analytics_products, deferred to the end of tx:
// the batch's sales are summed per product and currency and each row is
// written once, in (product, currency) order.
func addSales(tx *sqldb.Tx, sales []ProductSales) {
	for _, s := range sales {
		tx.Defer("analytics-products", s, flushSales)
	}
}

// flushSales writes the sums of items (ProductSales values).
func flushSales(ctx context.Context, tx *sqldb.Tx, items []any) error {
	type key struct{ product, currency string }
	sums := map[key]ProductSales{}
	for _, it := range items {
		s := it.(ProductSales)
		k := key{s.ProductID, s.Currency}
		t := sums[k]
		t.ProductID, t.Currency = s.ProductID, s.Currency
		t.Units += s.Units
		t.RevenueMinor += s.RevenueMinor
		sums[k] = t
	}
	for _, k := range sortedKeys(sums, func(a, b key) int {
		return cmp.Or(strings.Compare(a.product, b.product), strings.Compare(a.currency, b.currency))
	}) {
		s := sums[k]
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
