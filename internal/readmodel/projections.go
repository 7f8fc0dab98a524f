package readmodel

import (
	"context"
	"encoding/json"
	"fmt"
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

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- order view

// OrderView is the order view projection: one row per order (status,
// items, totals, saga progress, shipment) and its timeline, over the
// orders, payments, inventory and shipping topics. Events of one order on
// different topics may arrive in any order: rows are upserted, and an
// order is shown only once its order.placed is applied.
type OrderView struct{}

func (OrderView) Name() string { return OrderViewName }
func (OrderView) Topics() []string {
	return []string{topicOrders, topicPayments, topicInventory, topicShipping}
}
func (OrderView) TableNames() []string { return []string{"order_views", "order_timeline"} }

func (OrderView) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	for _, q := range []string{
		`CREATE TABLE ` + t.Name("order_views") + ` (
			order_id TEXT NOT NULL PRIMARY KEY,
			placed BIGINT NOT NULL DEFAULT 0,
			user_id TEXT NOT NULL DEFAULT '',
			status TEXT NOT NULL DEFAULT '',
			reason TEXT NOT NULL DEFAULT '',
			currency TEXT NOT NULL DEFAULT '',
			total_minor BIGINT NOT NULL DEFAULT 0,
			payment_method TEXT NOT NULL DEFAULT '',
			items TEXT NOT NULL DEFAULT '[]',
			address TEXT NOT NULL DEFAULT '{}',
			correlation_id TEXT NOT NULL DEFAULT '',
			placed_at BIGINT NOT NULL DEFAULT 0,
			updated_at BIGINT NOT NULL DEFAULT 0,
			version BIGINT NOT NULL DEFAULT 0,
			paid BIGINT NOT NULL DEFAULT 0,
			reserved BIGINT NOT NULL DEFAULT 0,
			shipped BIGINT NOT NULL DEFAULT 0,
			refunded BIGINT NOT NULL DEFAULT 0,
			released BIGINT NOT NULL DEFAULT 0,
			payment_id TEXT NOT NULL DEFAULT '',
			carrier TEXT NOT NULL DEFAULT '',
			tracking TEXT NOT NULL DEFAULT ''
		)`,
		`CREATE TABLE ` + t.Name("order_timeline") + ` (
			order_id TEXT NOT NULL,
			event_id TEXT NOT NULL,
			event_type TEXT NOT NULL,
			at BIGINT NOT NULL,
			topic TEXT NOT NULL,
			PRIMARY KEY (order_id, event_id)
		)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// orderRef is the part every platform event's data shares.
type orderRef struct {
	OrderID string `json:"orderId"`
}

func (OrderView) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
	env := m.Envelope
	var ref orderRef
	if err := env.UnmarshalData(&ref); err != nil {
		return err
	}
	if ref.OrderID == "" {
		return nil // not about an order (a command or reply of another flow)
	}
	ov, tl := t.Name("order_views"), t.Name("order_timeline")
	at := micros(env.Timestamp)
	// set updates the order's row, creating it first if this is the
	// first event of the order the view sees: one statement for every
	// event but the first.
	set := func(cols string, args ...any) error {
		n := len(args)
		q := `UPDATE ` + ov + ` SET ` + cols + fmt.Sprintf(`, updated_at = CASE WHEN updated_at < $%d THEN $%d ELSE updated_at END WHERE order_id = $%d`, n+1, n+1, n+2)
		args = append(args, at, ref.OrderID)
		res, err := projection.Exec(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		if rows, err := res.RowsAffected(); err != nil || rows > 0 {
			return err
		}
		if _, err := projection.Exec(ctx, tx, `INSERT INTO `+ov+` (order_id, updated_at) VALUES ($1, $2) ON CONFLICT (order_id) DO NOTHING`, ref.OrderID, at); err != nil {
			return err
		}
		_, err = projection.Exec(ctx, tx, q, args...)
		return err
	}
	// status keeps a terminal status: a late event cannot reopen an order.
	status := func(s string) string {
		return `status = CASE WHEN status IN ('shipped', 'cancelled') THEN status ELSE '` + s + `' END, version = version + 1`
	}
	var err error
	switch env.EventType {
	case order.TypePlaced, order.TypePaid, order.TypeReserved, order.TypeShipped, order.TypeCancelled:
		e, derr := order.DecodeEvent(env)
		if derr != nil {
			return derr
		}
		switch e := e.(type) {
		case order.Placed:
			items, _ := json.Marshal(e.Items)
			addr, _ := json.Marshal(e.ShippingAddress)
			err = set(`placed = 1, user_id = $1, currency = $2, total_minor = $3, payment_method = $4, items = $5, address = $6,
				correlation_id = $7, placed_at = $8, version = version + 1,
				status = CASE WHEN status = '' THEN 'placed' ELSE status END`,
				e.UserID, e.Currency, e.TotalMinor, e.PaymentMethod, string(items), string(addr), env.Metadata.CorrelationID, micros(e.PlacedAt))
		case order.Paid:
			err = set(status("paid") + `, paid = 1`)
		case order.Reserved:
			err = set(status("reserved") + `, reserved = 1`)
		case order.Shipped:
			err = set(status("shipped")+`, shipped = 1, carrier = $1, tracking = $2`, e.Carrier, e.TrackingNumber)
		case order.Cancelled:
			err = set(`status = 'cancelled', version = version + 1, reason = $1`, string(e.Reason))
		}
	case schema.TypePaymentSucceeded:
		var d schema.PaymentSucceeded
		if err := env.UnmarshalData(&d); err != nil {
			return err
		}
		err = set(`paid = 1, payment_id = $1`, d.PaymentID)
	case schema.TypePaymentRefunded:
		err = set(`refunded = 1`)
	case schema.TypeStockReserved:
		err = set(`reserved = 1`)
	case schema.TypeStockReleased:
		err = set(`released = 1`)
	case schema.TypeShipmentCreated:
		var d schema.ShipmentCreated
		if err := env.UnmarshalData(&d); err != nil {
			return err
		}
		err = set(`shipped = 1, carrier = $1, tracking = $2`, d.Carrier, d.TrackingNumber)
	case schema.TypePaymentFailed, schema.TypeStockReservationFailed, schema.TypeShipmentFailed, schema.TypeShipmentCancelled:
		err = set(`version = version`)
	default:
		return nil // commands, replies and other types: not part of the view
	}
	if err != nil {
		return err
	}
	_, err = projection.Exec(ctx, tx, `INSERT INTO `+tl+` (order_id, event_id, event_type, at, topic) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (order_id, event_id) DO NOTHING`, ref.OrderID, env.EventID, env.EventType, at, m.Topic)
	return err
}

// ---------------------------------------------------------------- user orders

// UserOrders is the user orders projection: (userId, placedAt, orderId)
// with the order's status and total, for newest-first cursor pagination.
// It reads only the orders topic, keyed by userId, so a user's events
// arrive in order.
type UserOrders struct{}

func (UserOrders) Name() string         { return UserOrdersName }
func (UserOrders) Topics() []string     { return []string{topicOrders} }
func (UserOrders) TableNames() []string { return []string{"user_orders"} }

func (UserOrders) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	for _, q := range []string{
		`CREATE TABLE ` + t.Name("user_orders") + ` (
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
		`CREATE INDEX ` + t.Index("user_orders_by_user") + ` ON ` + t.Name("user_orders") + ` (user_id, placed_at, order_id)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (UserOrders) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
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
	uo := t.Name("user_orders")
	at := micros(env.Timestamp)
	upd := func(status, reason string, id string) error {
		_, err := projection.Exec(ctx, tx, `UPDATE `+uo+` SET status = CASE WHEN status IN ('shipped', 'cancelled') THEN status ELSE $1 END,
			reason = CASE WHEN $2 = '' THEN reason ELSE $2 END, updated_at = $3 WHERE order_id = $4`, status, reason, at, id)
		return err
	}
	switch e := e.(type) {
	case order.Placed:
		n := 0
		for _, it := range e.Items {
			n += it.Quantity
		}
		_, err = projection.Exec(ctx, tx, `INSERT INTO `+uo+` (order_id, user_id, placed_at, status, total_minor, currency, item_count, updated_at)
			VALUES ($1, $2, $3, 'placed', $4, $5, $6, $7) ON CONFLICT (order_id) DO NOTHING`,
			e.OrderID, e.UserID, micros(e.PlacedAt), e.TotalMinor, e.Currency, n, at)
	case order.Paid:
		err = upd("paid", "", e.OrderID)
	case order.Reserved:
		err = upd("reserved", "", e.OrderID)
	case order.Shipped:
		err = upd("shipped", "", e.OrderID)
	case order.Cancelled:
		// cancelled wins over a non-terminal status.
		_, err = projection.Exec(ctx, tx, `UPDATE `+uo+` SET status = CASE WHEN status = 'shipped' THEN status ELSE 'cancelled' END,
			reason = $1, updated_at = $2 WHERE order_id = $3`, string(e.Reason), at, e.OrderID)
	}
	return err
}

// ---------------------------------------------------------------- product sales

// ProductSales counts units and revenue per product (and currency) of
// shipped orders. The lines of an order wait in product_sales_lines from
// order.placed until order.shipped adds them (or order.cancelled drops
// them); both come from the orders topic, in order.
type ProductSales struct{}

func (ProductSales) Name() string     { return ProductSalesName }
func (ProductSales) Topics() []string { return []string{topicOrders} }
func (ProductSales) TableNames() []string {
	return []string{"product_sales", "product_sales_lines"}
}

func (ProductSales) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	for _, q := range []string{
		`CREATE TABLE ` + t.Name("product_sales") + ` (
			product_id TEXT NOT NULL,
			currency TEXT NOT NULL,
			units BIGINT NOT NULL,
			revenue_minor BIGINT NOT NULL,
			orders BIGINT NOT NULL,
			PRIMARY KEY (product_id, currency)
		)`,
		`CREATE TABLE ` + t.Name("product_sales_lines") + ` (
			order_id TEXT NOT NULL,
			product_id TEXT NOT NULL,
			currency TEXT NOT NULL,
			quantity BIGINT NOT NULL,
			revenue_minor BIGINT NOT NULL,
			PRIMARY KEY (order_id, product_id)
		)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (ProductSales) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
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
	ps, lines := t.Name("product_sales"), t.Name("product_sales_lines")
	switch e := e.(type) {
	case order.Placed:
		for _, it := range e.Items {
			if _, err := projection.Exec(ctx, tx, `INSERT INTO `+lines+` (order_id, product_id, currency, quantity, revenue_minor)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, product_id) DO UPDATE SET
				quantity = `+lines+`.quantity + excluded.quantity, revenue_minor = `+lines+`.revenue_minor + excluded.revenue_minor`,
				e.OrderID, it.ProductID, e.Currency, it.Quantity, int64(it.Quantity)*it.UnitPriceMinor); err != nil {
				return err
			}
		}
	case order.Shipped:
		// WHERE true: SQLite needs it to parse ON CONFLICT after INSERT … SELECT.
		if _, err := projection.Exec(ctx, tx, `INSERT INTO `+ps+` (product_id, currency, units, revenue_minor, orders)
			SELECT product_id, currency, quantity, revenue_minor, 1 FROM `+lines+` WHERE order_id = $1
			ON CONFLICT (product_id, currency) DO UPDATE SET units = `+ps+`.units + excluded.units,
			revenue_minor = `+ps+`.revenue_minor + excluded.revenue_minor, orders = `+ps+`.orders + 1`, e.OrderID); err != nil {
			return err
		}
		_, err = projection.Exec(ctx, tx, `DELETE FROM `+lines+` WHERE order_id = $1`, e.OrderID)
	case order.Cancelled:
		_, err = projection.Exec(ctx, tx, `DELETE FROM `+lines+` WHERE order_id = $1`, e.OrderID)
	}
	return err
}

// ---------------------------------------------------------------- product stock

// ProductStock tracks, per product, the units reserved and released by
// the inventory service (stock.reserved, stock.released). The available
// stock is the catalog's initial stock minus (reserved - released).
type ProductStock struct{}

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

func (ProductStock) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
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
	st := t.Name("product_stock")
	for _, l := range lines {
		res, rel := int64(l.Quantity), int64(0)
		if !reserved {
			res, rel = 0, int64(l.Quantity)
		}
		if _, err := projection.Exec(ctx, tx, `INSERT INTO `+st+` (product_id, reserved, released) VALUES ($1, $2, $3)
			ON CONFLICT (product_id) DO UPDATE SET reserved = `+st+`.reserved + excluded.reserved, released = `+st+`.released + excluded.released`,
			l.ProductID, res, rel); err != nil {
			return err
		}
	}
	return nil
}

// All returns the read service's projections.
func All() []projection.Projection {
	return []projection.Projection{OrderView{}, UserOrders{}, ProductSales{}, ProductStock{}}
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
