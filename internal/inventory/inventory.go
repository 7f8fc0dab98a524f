package inventory

import (
	"slices"
	"time"

	"github.com/causeway-dev/causeway/internal/schema"
)

// Status is the state of an order's reservation.
type Status string

// Statuses. Pending: no decision yet. Failed, Released and Cancelled are
// final.
const (
	StatusPending   Status = "pending"
	StatusReserved  Status = "reserved"
	StatusFailed    Status = "failed"
	StatusReleased  Status = "released"
	StatusCancelled Status = "cancelled"
)

// Fact is an event that arrived, as the row remembers it: its id and
// correlation id (the cause of events it leads to).
type Fact struct {
	EventID       string
	CorrelationID string
}

// Known reports whether the fact arrived.
func (f Fact) Known() bool { return f.EventID != "" }

// Order is what the service knows about one order.
type Order struct {
	OrderID string
	UserID  string
	// Items are the order's lines; nil until order.placed arrived.
	Items []schema.Line
	// Paid is the payment.succeeded, once it arrived.
	Paid Fact
	// Undo is the event asking to undo the reservation (shipment.failed or
	// order.cancelled), once one arrived, and UndoCause its cause.
	Undo      Fact
	UndoCause schema.Cause
	Status    Status
}

// Step is what to do with an order now.
type Step int

// Steps.
const (
	// StepNone: nothing (wait, or already done).
	StepNone Step = iota
	// StepReserve: try to reserve the items (Plan decides).
	StepReserve
	// StepRelease: release the reservation.
	StepRelease
	// StepCancel: mark the order cancelled without reserving (no event).
	StepCancel
)

// Next decides the step from what is known. It is the whole state machine:
//
//	pending  + undo requested           → cancel (never reserve)
//	pending  + items known + paid       → reserve
//	reserved + undo requested           → release
//	anything else                       → nothing
func Next(o Order) Step {
	switch o.Status {
	case StatusPending:
		switch {
		case o.Undo.Known():
			return StepCancel
		case o.Items != nil && o.Paid.Known():
			return StepReserve
		}
	case StatusReserved:
		if o.Undo.Known() {
			return StepRelease
		}
	}
	return StepNone
}

// Merge sums the quantities of lines of the same product, sorted by
// product id (the order in which rows are locked and updated).
func Merge(lines []schema.Line) []schema.Line {
	sum := map[string]int{}
	for _, l := range lines {
		sum[l.ProductID] += l.Quantity
	}
	out := make([]schema.Line, 0, len(sum))
	for id, q := range sum {
		out = append(out, schema.Line{ProductID: id, Quantity: q})
	}
	slices.SortFunc(out, func(a, b schema.Line) int {
		switch {
		case a.ProductID < b.ProductID:
			return -1
		case a.ProductID > b.ProductID:
			return 1
		}
		return 0
	})
	return out
}

// Plan decides a reservation of lines (merged) against the available
// stock per product: ok when every line is available in full, else the
// lines that are not (an unknown product has nothing available).
func Plan(lines []schema.Line, available map[string]int64) (ok bool, missing []schema.Line) {
	for _, l := range Merge(lines) {
		if available[l.ProductID] < int64(l.Quantity) || l.Quantity < 1 {
			missing = append(missing, l)
		}
	}
	return len(missing) == 0, missing
}

// ReservationID is the deterministic id of an order's reservation.
func ReservationID(orderID string) string { return "res-" + orderID }

// Reserved returns the stock.reserved event of o.
func Reserved(o Order, at time.Time) schema.StockReserved {
	return schema.StockReserved{OrderID: o.OrderID, UserID: o.UserID, ReservationID: ReservationID(o.OrderID), Items: Merge(o.Items), ReservedAt: at}
}

// ReservationFailed returns the stock.reservation-failed event of o.
func ReservationFailed(o Order, missing []schema.Line, at time.Time) schema.StockReservationFailed {
	return schema.StockReservationFailed{OrderID: o.OrderID, UserID: o.UserID, Reason: schema.ReasonOutOfStock, Missing: missing, FailedAt: at}
}

// Released returns the stock.released event of o.
func Released(o Order, at time.Time) schema.StockReleased {
	return schema.StockReleased{OrderID: o.OrderID, UserID: o.UserID, ReservationID: ReservationID(o.OrderID), Items: Merge(o.Items), Cause: o.UndoCause, ReleasedAt: at}
}
