package readmodel

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
)

// Order is the order view as GET /v1/orders/{id} shows it from the read
// model. Its fields are those of ordersvc.OrderView where they exist, plus
// saga progress and shipment tracking.
type Order struct {
	OrderID            string              `json:"orderId"`
	UserID             string              `json:"userId"`
	Status             string              `json:"status"`
	CancellationReason string              `json:"cancellationReason,omitempty"`
	Items              []ordersvc.ItemView `json:"items"`
	TotalMinor         int64               `json:"totalMinor"`
	Total              string              `json:"total"`
	Currency           string              `json:"currency"`
	PaymentMethod      string              `json:"paymentMethod"`
	ShippingAddress    order.Address       `json:"shippingAddress"`
	CorrelationID      string              `json:"correlationId"`
	// Version counts the order's own events (order.*) applied.
	Version   int64     `json:"version"`
	PlacedAt  time.Time `json:"placedAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Saga      Saga      `json:"saga"`
	Shipment  *Shipment `json:"shipment,omitempty"`
	// Timeline lists the order's own events (order.*), by time, as the
	// event-sourced view does; SagaEvents the events of the payment,
	// inventory and shipping services about the order, by time.
	Timeline   []TimelineEntry `json:"timeline"`
	SagaEvents []TimelineEntry `json:"sagaEvents"`
	// Source is "read-model"; Stale is set by the API when the answer
	// may miss the caller's write.
	Source string `json:"source"`
	Stale  bool   `json:"stale"`
}

// Saga is the order's progress through the saga's steps.
type Saga struct {
	Paid     bool   `json:"paid"`
	Reserved bool   `json:"reserved"`
	Shipped  bool   `json:"shipped"`
	Refunded bool   `json:"refunded"`
	Released bool   `json:"released"`
	Steps    string `json:"steps"` // e.g. "paid,reserved"
}

// Shipment is where the parcel is.
type Shipment struct {
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"trackingNumber"`
}

// TimelineEntry is one event of the order.
type TimelineEntry struct {
	EventType string    `json:"eventType"`
	EventID   string    `json:"eventId"`
	At        time.Time `json:"at"`
	Topic     string    `json:"topic"`
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// Order returns the order view of id; ErrNotFound while the read model has
// not applied its order.placed.
func (s *Service) Order(ctx context.Context, id string) (Order, error) {
	var (
		o                                      Order
		placed, placedAt, updatedAt            int64
		paid, reserved, shipped, refunded, rel int64
		items, addr, carrier, tracking         string
	)
	err := s.db.Read.QueryRowContext(ctx, `SELECT placed, user_id, status, reason, currency, total_minor, payment_method, items, address,
		correlation_id, placed_at, updated_at, version, paid, reserved, shipped, refunded, released, carrier, tracking
		FROM order_views WHERE order_id = $1`, id).Scan(&placed, &o.UserID, &o.Status, &o.CancellationReason, &o.Currency, &o.TotalMinor,
		&o.PaymentMethod, &items, &addr, &o.CorrelationID, &placedAt, &updatedAt, &o.Version, &paid, &reserved, &shipped, &refunded, &rel,
		&carrier, &tracking)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && placed == 0) {
		return Order{}, fmt.Errorf("%w: order %.80q", ErrNotFound, id)
	}
	if err != nil {
		return Order{}, fmt.Errorf("readmodel: order %q: %w", id, err)
	}
	o.OrderID, o.Source = id, "read-model"
	var its []order.Item
	if err := json.Unmarshal([]byte(items), &its); err != nil {
		return Order{}, fmt.Errorf("readmodel: order %q items: %w", id, err)
	}
	o.Items = make([]ordersvc.ItemView, len(its))
	for i, it := range its {
		o.Items[i] = ordersvc.ItemView{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor,
			LineTotalMinor: int64(it.Quantity) * it.UnitPriceMinor}
	}
	_ = json.Unmarshal([]byte(addr), &o.ShippingAddress)
	o.Total = ordersvc.FormatMinor(o.TotalMinor, o.Currency)
	o.PlacedAt, o.UpdatedAt = fromMicros(placedAt), fromMicros(updatedAt)
	o.Saga = Saga{Paid: paid == 1, Reserved: reserved == 1, Shipped: shipped == 1, Refunded: refunded == 1, Released: rel == 1}
	var steps []string
	for _, st := range []struct {
		ok   bool
		name string
	}{{o.Saga.Paid, "paid"}, {o.Saga.Reserved, "reserved"}, {o.Saga.Shipped, "shipped"}, {o.Saga.Refunded, "refunded"}, {o.Saga.Released, "released"}} {
		if st.ok {
			steps = append(steps, st.name)
		}
	}
	o.Saga.Steps = strings.Join(steps, ",")
	if carrier != "" || tracking != "" {
		o.Shipment = &Shipment{Carrier: carrier, TrackingNumber: tracking}
	}
	rows, err := s.db.Read.QueryContext(ctx, `SELECT event_type, event_id, at, topic FROM order_timeline WHERE order_id = $1 ORDER BY at, event_id`, id)
	if err != nil {
		return Order{}, fmt.Errorf("readmodel: order %q timeline: %w", id, err)
	}
	defer rows.Close()
	o.Timeline, o.SagaEvents = []TimelineEntry{}, []TimelineEntry{}
	for rows.Next() {
		var e TimelineEntry
		var at int64
		if err := rows.Scan(&e.EventType, &e.EventID, &at, &e.Topic); err != nil {
			return Order{}, err
		}
		e.At = fromMicros(at)
		if e.Topic == topicOrders {
			o.Timeline = append(o.Timeline, e)
		} else {
			o.SagaEvents = append(o.SagaEvents, e)
		}
	}
	return o, rows.Err()
}

// Pagination limits of UserOrders.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// UserOrder is one line of a user's order list.
type UserOrder struct {
	OrderID            string    `json:"orderId"`
	Status             string    `json:"status"`
	CancellationReason string    `json:"cancellationReason,omitempty"`
	TotalMinor         int64     `json:"totalMinor"`
	Total              string    `json:"total"`
	Currency           string    `json:"currency"`
	ItemCount          int64     `json:"itemCount"`
	PlacedAt           time.Time `json:"placedAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// UserOrdersPage is one page of a user's orders, newest first.
type UserOrdersPage struct {
	UserID string      `json:"userId"`
	Orders []UserOrder `json:"orders"`
	// NextCursor fetches the next (older) page; empty on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
	Stale      bool   `json:"stale"`
}

// cursor is the position after which the next page starts: the last
// order's placedAt and orderId. On the wire it is opaque: base64url of
// "v1:<placedAt µs>:<orderId>".
type cursor struct {
	placedAt int64
	orderID  string
}

func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(c.placedAt, 10) + ":" + c.orderID))
}

func parseCursor(s string) (cursor, error) {
	bad := fmt.Errorf("%w: cursor %.60q is not one this API gave", ErrBadCursor, s)
	if len(s) > 400 {
		return cursor{}, bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	f := strings.SplitN(string(b), ":", 3)
	if len(f) != 3 || f[0] != "v1" || f[2] == "" {
		return cursor{}, bad
	}
	at, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return cursor{}, bad
	}
	return cursor{at, f[2]}, nil
}

// ParseLimit checks a limit query parameter: empty is DefaultLimit,
// otherwise 1–MaxLimit.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Errorf("%w: limit must be 1–%d, got %.20q", ErrBadCursor, MaxLimit, s)
	}
	return n, nil
}

// UserOrders returns up to limit (1–MaxLimit) of userID's orders, newest
// first (placedAt, then orderId, descending), after cur (a NextCursor, or
// "" for the first page). A bad cursor or limit is ErrBadCursor.
func (s *Service) UserOrders(ctx context.Context, userID, cur string, limit int) (UserOrdersPage, error) {
	if limit < 1 || limit > MaxLimit {
		return UserOrdersPage{}, fmt.Errorf("%w: limit %d", ErrBadCursor, limit)
	}
	q := `SELECT order_id, status, reason, total_minor, currency, item_count, placed_at, updated_at FROM user_orders WHERE user_id = $1`
	args := []any{userID}
	if cur != "" {
		c, err := parseCursor(cur)
		if err != nil {
			return UserOrdersPage{}, err
		}
		q += ` AND (placed_at < $2 OR (placed_at = $2 AND order_id < $3))`
		args = append(args, c.placedAt, c.orderID)
	}
	q += ` ORDER BY placed_at DESC, order_id DESC LIMIT ` + strconv.Itoa(limit+1)
	rows, err := s.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return UserOrdersPage{}, fmt.Errorf("readmodel: user orders: %w", err)
	}
	defer rows.Close()
	page := UserOrdersPage{UserID: userID, Orders: []UserOrder{}}
	var last cursor
	for rows.Next() {
		var o UserOrder
		var placedAt, updatedAt int64
		if err := rows.Scan(&o.OrderID, &o.Status, &o.CancellationReason, &o.TotalMinor, &o.Currency, &o.ItemCount, &placedAt, &updatedAt); err != nil {
			return UserOrdersPage{}, err
		}
		if len(page.Orders) == limit {
			page.NextCursor = last.String()
			break
		}
		o.Total = ordersvc.FormatMinor(o.TotalMinor, o.Currency)
		o.PlacedAt, o.UpdatedAt = fromMicros(placedAt), fromMicros(updatedAt)
		page.Orders = append(page.Orders, o)
		last = cursor{placedAt, o.OrderID}
	}
	return page, rows.Err()
}

// ProductSale is one product's sales in one currency (shipped orders).
type ProductSale struct {
	ProductID    string `json:"productId"`
	Currency     string `json:"currency"`
	Units        int64  `json:"units"`
	RevenueMinor int64  `json:"revenueMinor"`
	Revenue      string `json:"revenue"`
	Orders       int64  `json:"orders"`
}

// ProductSales returns every product's sales, most units first.
func (s *Service) ProductSales(ctx context.Context) ([]ProductSale, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT product_id, currency, units, revenue_minor, orders FROM product_sales ORDER BY units DESC, product_id, currency`)
	if err != nil {
		return nil, fmt.Errorf("readmodel: product sales: %w", err)
	}
	defer rows.Close()
	out := []ProductSale{}
	for rows.Next() {
		var p ProductSale
		if err := rows.Scan(&p.ProductID, &p.Currency, &p.Units, &p.RevenueMinor, &p.Orders); err != nil {
			return nil, err
		}
		p.Revenue = ordersvc.FormatMinor(p.RevenueMinor, p.Currency)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReservedStock returns, per product, the units held by reservations
// (reserved minus released) as the inventory events tell.
func (s *Service) ReservedStock(ctx context.Context) (map[string]int64, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT product_id, reserved - released FROM product_stock`)
	if err != nil {
		return nil, fmt.Errorf("readmodel: product stock: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
