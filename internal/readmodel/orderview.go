package readmodel

import (
	"context"
	"encoding/json"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
)

// OrderView is the order view projection: one row per order (status,
// items, totals, saga progress, shipment) and its timeline, over the
// orders, payments, inventory and shipping topics. Events of one order on
// different topics may arrive in any order: rows are upserted, and an
// order is shown only once its order.placed is applied.
//
// The zero value works; All's shares its statements between the live
// tables and a rebuild's.
type OrderView struct {
	sql *stmts[orderViewSQL]
}

func (OrderView) Name() string { return OrderViewName }
func (OrderView) Topics() []string {
	return []string{topicOrders, topicPayments, topicInventory, topicShipping}
}
func (OrderView) TableNames() []string { return []string{"order_views", "order_timeline"} }

func (OrderView) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	return execAll(ctx, tx,
		`CREATE TABLE `+t.Name("order_views")+` (
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
		`CREATE TABLE `+t.Name("order_timeline")+` (
			order_id TEXT NOT NULL,
			event_id TEXT NOT NULL,
			event_type TEXT NOT NULL,
			at BIGINT NOT NULL,
			topic TEXT NOT NULL,
			PRIMARY KEY (order_id, event_id)
		)`,
	)
}

// orderRef is the part every platform event's data shares.
type orderRef struct {
	OrderID string `json:"orderId"`
}

// orderIDOf returns the orderId of env's data ("" when it has none).
func orderIDOf(env event.Envelope) (string, error) {
	var ref orderRef
	if err := env.UnmarshalData(&ref); err != nil {
		return "", err
	}
	return ref.OrderID, nil
}

// refFirst is the result of an event whose data did not decode (err): the
// error of its orderId, or nil when it has none (it is not about an
// order), before err. The view checks the orderId first.
func refFirst(env event.Envelope, err error) error {
	id, rerr := orderIDOf(env)
	switch {
	case rerr != nil:
		return rerr
	case id == "":
		return nil
	}
	return err
}

// rowChange names how an event changes its order's row in order_views.
type rowChange int

const (
	rowPlaced rowChange = iota
	rowPaid
	rowReserved
	rowShipped
	rowCancelled
	rowPaymentSucceeded
	rowRefunded
	rowStockReserved
	rowReleased
	rowShipmentCreated
	rowTouched // updated_at only
	numRowChanges
)

// orderViewSQL is OrderView's statements for one set of tables.
type orderViewSQL struct {
	// upsert[c] creates or updates the order's row with change c in one
	// statement: $1 is the order id, $2 the event's time (µs), $3… the
	// change's values.
	upsert   [numRowChanges]string
	timeline string
}

// colSet is one column a row change sets: to fresh in a new row (one
// with the columns' defaults), to update in an existing one.
type colSet struct{ col, fresh, update string }

func buildOrderViewSQL(t projection.Tables) *orderViewSQL {
	ov := t.Name("order_views")
	cur := func(col string) string { return ov + "." + col } // the existing row's value
	arg := func(col, p string) colSet { return colSet{col, p, "excluded." + col} }
	flag := func(col string) colSet { return colSet{col, "1", "1"} }
	version := colSet{"version", "1", cur("version") + " + 1"}
	// status keeps a terminal status: a late event cannot reopen an order.
	status := func(s string) colSet {
		return colSet{"status", "'" + s + "'", "CASE WHEN " + cur("status") + " IN ('shipped', 'cancelled') THEN " + cur("status") + " ELSE '" + s + "' END"}
	}
	upsert := func(sets ...colSet) string {
		cols, vals, upd := "order_id, updated_at", "$1, $2", ""
		for _, c := range sets {
			cols, vals, upd = cols+", "+c.col, vals+", "+c.fresh, upd+c.col+" = "+c.update+", "
		}
		return `INSERT INTO ` + ov + ` (` + cols + `) VALUES (` + vals + `) ON CONFLICT (order_id) DO UPDATE SET ` + upd +
			`updated_at = CASE WHEN ` + cur("updated_at") + ` < excluded.updated_at THEN excluded.updated_at ELSE ` + cur("updated_at") + ` END`
	}
	s := &orderViewSQL{}
	s.upsert[rowPlaced] = upsert(flag("placed"), arg("user_id", "$3"), arg("currency", "$4"), arg("total_minor", "$5"),
		arg("payment_method", "$6"), arg("items", "$7"), arg("address", "$8"), arg("correlation_id", "$9"), arg("placed_at", "$10"),
		version, colSet{"status", "'placed'", "CASE WHEN " + cur("status") + " = '' THEN 'placed' ELSE " + cur("status") + " END"})
	s.upsert[rowPaid] = upsert(status("paid"), version, flag("paid"))
	s.upsert[rowReserved] = upsert(status("reserved"), version, flag("reserved"))
	s.upsert[rowShipped] = upsert(status("shipped"), version, flag("shipped"), arg("carrier", "$3"), arg("tracking", "$4"))
	s.upsert[rowCancelled] = upsert(colSet{"status", "'cancelled'", "'cancelled'"}, version, arg("reason", "$3"))
	s.upsert[rowPaymentSucceeded] = upsert(flag("paid"), arg("payment_id", "$3"))
	s.upsert[rowRefunded] = upsert(flag("refunded"))
	s.upsert[rowStockReserved] = upsert(flag("reserved"))
	s.upsert[rowReleased] = upsert(flag("released"))
	s.upsert[rowShipmentCreated] = upsert(flag("shipped"), arg("carrier", "$3"), arg("tracking", "$4"))
	s.upsert[rowTouched] = upsert()
	s.timeline = `INSERT INTO ` + t.Name("order_timeline") + ` (order_id, event_id, event_type, at, topic) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (order_id, event_id) DO NOTHING`
	return s
}

// Apply upserts the order's row (one statement) and adds the event to
// its timeline. The event's data is decoded once.
func (v OrderView) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
	env := m.Envelope
	var (
		id     string
		change rowChange
		vals   []any // $3…
	)
	switch env.EventType {
	case order.TypePlaced, order.TypePaid, order.TypeReserved, order.TypeShipped, order.TypeCancelled:
		e, err := order.DecodeEvent(env)
		if err != nil {
			return refFirst(env, err)
		}
		switch e := e.(type) {
		case order.Placed:
			items, _ := json.Marshal(e.Items)
			addr, _ := json.Marshal(e.ShippingAddress)
			id, change, vals = e.OrderID, rowPlaced, []any{e.UserID, e.Currency, e.TotalMinor, e.PaymentMethod, string(items), string(addr),
				env.Metadata.CorrelationID, micros(e.PlacedAt)}
		case order.Paid:
			id, change = e.OrderID, rowPaid
		case order.Reserved:
			id, change = e.OrderID, rowReserved
		case order.Shipped:
			id, change, vals = e.OrderID, rowShipped, []any{e.Carrier, e.TrackingNumber}
		case order.Cancelled:
			id, change, vals = e.OrderID, rowCancelled, []any{string(e.Reason)}
		}
	case schema.TypePaymentSucceeded:
		var d schema.PaymentSucceeded
		if err := env.UnmarshalData(&d); err != nil {
			return refFirst(env, err)
		}
		id, change, vals = d.OrderID, rowPaymentSucceeded, []any{d.PaymentID}
	case schema.TypeShipmentCreated:
		var d schema.ShipmentCreated
		if err := env.UnmarshalData(&d); err != nil {
			return refFirst(env, err)
		}
		id, change, vals = d.OrderID, rowShipmentCreated, []any{d.Carrier, d.TrackingNumber}
	default:
		var ok bool
		if change, ok = refOnlyChange(env.EventType); !ok {
			// Commands, replies and other types: not part of the view
			// (after the orderId check every event gets).
			_, err := orderIDOf(env)
			return err
		}
		var err error
		if id, err = orderIDOf(env); err != nil {
			return err
		}
	}
	if id == "" {
		return nil // not about an order (a command or reply of another flow)
	}
	q := v.sql.get(t, buildOrderViewSQL)
	at := micros(env.Timestamp)
	if _, err := projection.Exec(ctx, tx, q.upsert[change], append([]any{id, at}, vals...)...); err != nil {
		return err
	}
	_, err := projection.Exec(ctx, tx, q.timeline, id, env.EventID, env.EventType, at, m.Topic)
	return err
}

// refOnlyChange returns the row change of an event type of which the
// view reads only the orderId.
func refOnlyChange(eventType string) (rowChange, bool) {
	switch eventType {
	case schema.TypePaymentRefunded:
		return rowRefunded, true
	case schema.TypeStockReserved:
		return rowStockReserved, true
	case schema.TypeStockReleased:
		return rowReleased, true
	case schema.TypePaymentFailed, schema.TypeStockReservationFailed, schema.TypeShipmentFailed, schema.TypeShipmentCancelled:
		return rowTouched, true
	}
	return 0, false
}
