package readmodel

import (
	"context"
	"time"

	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
)

// Projection names (the keys of their checkpoints, and the names given to
// `causeway projections rebuild`).
const (
	OrderViewName    = "order_view"
	UserOrdersName   = "user_orders"
	ProductSalesName = "product_sales"
	ProductStockName = "product_stock"
)

// Topics of the platform the read service reads.
const (
	topicOrders    = "orders"
	topicPayments  = "payments"
	topicInventory = "inventory"
	topicShipping  = "shipping"
)

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// execAll runs the statements qs in tx, in order, up to the first error.
func execAll(ctx context.Context, tx *sqldb.Tx, qs ...string) error {
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- user orders

// UserOrders is the user orders projection: (userId, placedAt, orderId)
// with the order's status and total, for newest-first cursor pagination.
// It reads only the orders topic, keyed by userId, so a user's events
// arrive in order.
//
// The zero value works; All's shares its statements between the live
// tables and a rebuild's.
type UserOrders struct {
	sql *stmts[userOrdersSQL]
}

func (UserOrders) Name() string         { return UserOrdersName }
func (UserOrders) Topics() []string     { return []string{topicOrders} }
func (UserOrders) TableNames() []string { return []string{"user_orders"} }

func (UserOrders) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	return execAll(ctx, tx,
		`CREATE TABLE `+t.Name("user_orders")+` (
			order_id TEXT NOT NULL PRIMARY KEY,
			user_id TEXT NOT NULL,
			placed_at BIGINT NOT NULL,
			status TEXT NOT NULL,
			reason TEXT NOT NULL DEFAULT '',
			total_minor BIGINT NOT NULL,
			currency TEXT NOT NULL,
			item_count BIGINT NOT NULL,
			updated_at BIGINT NOT NULL
		)`,
		`CREATE INDEX `+t.Index("user_orders_by_user")+` ON `+t.Name("user_orders")+` (user_id, placed_at, order_id)`,
	)
}

// userOrdersSQL is UserOrders' statements for one set of tables.
type userOrdersSQL struct {
	placed, progress, cancelled string
}

func buildUserOrdersSQL(t projection.Tables) *userOrdersSQL {
	uo := t.Name("user_orders")
	return &userOrdersSQL{
		placed: `INSERT INTO ` + uo + ` (order_id, user_id, placed_at, status, total_minor, currency, item_count, updated_at)
			VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING`,
		// A terminal status stays.
		progress: `UPDATE ` + uo + ` SET status = CASE WHEN status IN ('shipped', 'cancelled') THEN status ELSE $1 END,
			updated_at = $2 WHERE order_id = $3`,
		// cancelled wins over a non-terminal status.
		cancelled: `UPDATE ` + uo + ` SET status = CASE WHEN status = 'shipped' THEN status ELSE 'cancelled' END,
			reason = $1, updated_at = $2 WHERE order_id = $3`,
	}
}

func (v UserOrders) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
	env := m.Envelope
	switch env.EventType {
	case order.TypePlaced, order.TypePaid, order.TypeReserved, order.TypeShipped, order.TypeCancelled:
	default:
		return nil
	}
	e, err := order.DecodeEvent(env)
	if err != nil {
		return err
	}
	q := v.sql.get(t, buildUserOrdersSQL)
	at := micros(env.Timestamp)
	switch e := e.(type) {
	case order.Placed:
		n := 0
		for _, it := range e.Items {
			n += it.Quantity
		}
		_, err = projection.Exec(ctx, tx, q.placed, e.OrderID, e.UserID, micros(e.PlacedAt), e.TotalMinor, e.Currency, n, at)
	case order.Paid:
		_, err = projection.Exec(ctx, tx, q.progress, "paid", at, e.OrderID)
	case order.Reserved:
		_, err = projection.Exec(ctx, tx, q.progress, "reserved", at, e.OrderID)
	case order.Shipped:
		_, err = projection.Exec(ctx, tx, q.progress, "shipped", at, e.OrderID)
	case order.Cancelled:
		_, err = projection.Exec(ctx, tx, q.cancelled, string(e.Reason), at, e.OrderID)
	}
	return err
}

// ---------------------------------------------------------------- product sales

// ProductSales counts units and revenue per product (and currency) of
// shipped orders. The lines of an order wait in product_sales_lines from
// order.placed until order.shipped adds them (or order.cancelled drops
// them); both come from the orders topic, in order.
//
// The zero value works; All's shares its statements between the live
// tables and a rebuild's.
type ProductSales struct {
	sql *stmts[productSalesSQL]
}

func (ProductSales) Name() string     { return ProductSalesName }
func (ProductSales) Topics() []string { return []string{topicOrders} }
func (ProductSales) TableNames() []string {
	return []string{"product_sales", "product_sales_lines"}
}

func (ProductSales) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	return execAll(ctx, tx,
		`CREATE TABLE `+t.Name("product_sales")+` (
			product_id TEXT NOT NULL,
			currency TEXT NOT NULL,
			units BIGINT NOT NULL,
			revenue_minor BIGINT NOT NULL,
			orders BIGINT NOT NULL,
			PRIMARY KEY (product_id, currency)
		)`,
		`CREATE TABLE `+t.Name("product_sales_lines")+` (
			order_id TEXT NOT NULL,
			product_id TEXT NOT NULL,
			currency TEXT NOT NULL,
			quantity BIGINT NOT NULL,
			revenue_minor BIGINT NOT NULL,
			PRIMARY KEY (order_id, product_id)
		)`,
	)
}

// productSalesSQL is ProductSales' statements for one set of tables.
type productSalesSQL struct {
	addLine, sell, dropLines string
}

func buildProductSalesSQL(t projection.Tables) *productSalesSQL {
	ps, lines := t.Name("product_sales"), t.Name("product_sales_lines")
	return &productSalesSQL{
		addLine: `INSERT INTO ` + lines + ` (order_id, product_id, currency, quantity, revenue_minor)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, product_id) DO UPDATE SET
			quantity = ` + lines + `.quantity + excluded.quantity, revenue_minor = ` + lines + `.revenue_minor + excluded.revenue_minor`,
		// WHERE true: SQLite needs it to parse ON CONFLICT after INSERT … SELECT.
		sell: `INSERT INTO ` + ps + ` (product_id, currency, units, revenue_minor, orders)
			SELECT product_id, currency, quantity, revenue_minor, 1 FROM ` + lines + ` WHERE order_id = $1
			ON CONFLICT (product_id, currency) DO UPDATE SET units = ` + ps + `.units + excluded.units,
			revenue_minor = ` + ps + `.revenue_minor + excluded.revenue_minor, orders = ` + ps + `.orders + 1`,
		dropLines: `DELETE FROM ` + lines + ` WHERE order_id = $1`,
	}
}

func (v ProductSales) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
	env := m.Envelope
	switch env.EventType {
	case order.TypePlaced, order.TypeShipped, order.TypeCancelled:
	default:
		return nil
	}
	e, err := order.DecodeEvent(env)
	if err != nil {
		return err
	}
	q := v.sql.get(t, buildProductSalesSQL)
	switch e := e.(type) {
	case order.Placed:
		for _, it := range e.Items {
			if _, err := projection.Exec(ctx, tx, q.addLine, e.OrderID, it.ProductID, e.Currency, it.Quantity, int64(it.Quantity)*it.UnitPriceMinor); err != nil {
				return err
			}
		}
	case order.Shipped:
		if _, err := projection.Exec(ctx, tx, q.sell, e.OrderID); err != nil {
			return err
		}
		_, err = projection.Exec(ctx, tx, q.dropLines, e.OrderID)
	case order.Cancelled:
		_, err = projection.Exec(ctx, tx, q.dropLines, e.OrderID)
	}
	return err
}

// ---------------------------------------------------------------- product stock

// ProductStock tracks, per product, the units reserved and released by
// the inventory service (stock.reserved, stock.released). The available
// stock is the catalog's initial stock minus (reserved - released).
//
// The zero value works; All's shares its statement between the live
// tables and a rebuild's.
type ProductStock struct {
	sql *stmts[productStockSQL]
}

func (ProductStock) Name() string         { return ProductStockName }
func (ProductStock) Topics() []string     { return []string{topicInventory} }
func (ProductStock) TableNames() []string { return []string{"product_stock"} }

func (ProductStock) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	_, err := tx.ExecContext(ctx, `CREATE TABLE `+t.Name("product_stock")+` (
		product_id TEXT NOT NULL PRIMARY KEY,
		reserved BIGINT NOT NULL,
		released BIGINT NOT NULL
	)`)
	return err
}

// productStockSQL is ProductStock's statement for one set of tables.
type productStockSQL struct {
	add string
}

func buildProductStockSQL(t projection.Tables) *productStockSQL {
	st := t.Name("product_stock")
	return &productStockSQL{
		add: `INSERT INTO ` + st + ` (product_id, reserved, released) VALUES ($1, $2, $3)
			ON CONFLICT (product_id) DO UPDATE SET reserved = ` + st + `.reserved + excluded.reserved, released = ` + st + `.released + excluded.released`,
	}
}

func (v ProductStock) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
	env := m.Envelope
	var lines []schema.Line
	var reserved bool
	switch env.EventType {
	case schema.TypeStockReserved:
		var d schema.StockReserved
		if err := env.UnmarshalData(&d); err != nil {
			return err
		}
		lines, reserved = d.Items, true
	case schema.TypeStockReleased:
		var d schema.StockReleased
		if err := env.UnmarshalData(&d); err != nil {
			return err
		}
		lines = d.Items
	default:
		return nil
	}
	q := v.sql.get(t, buildProductStockSQL)
	for _, l := range lines {
		res, rel := int64(l.Quantity), int64(0)
		if !reserved {
			res, rel = 0, int64(l.Quantity)
		}
		if _, err := projection.Exec(ctx, tx, q.add, l.ProductID, res, rel); err != nil {
			return err
		}
	}
	return nil
}

// All returns the read service's projections.
func All() []projection.Projection {
	return []projection.Projection{
		OrderView{sql: &stmts[orderViewSQL]{}},
		UserOrders{sql: &stmts[userOrdersSQL]{}},
		ProductSales{sql: &stmts[productSalesSQL]{}},
		ProductStock{sql: &stmts[productStockSQL]{}},
	}
}

var (
	_ projection.Schema = OrderView{}
	_ projection.Schema = UserOrders{}
	_ projection.Schema = ProductSales{}
	_ projection.Schema = ProductStock{}
)

// Names lists the projections' names.
func Names() []string {
	var out []string
	for _, p := range All() {
		out = append(out, p.Name())
	}
	return out
}
