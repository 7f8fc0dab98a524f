package order

import (
	"slices"
	"time"
)

// Status is an order's lifecycle state.
type Status string

// Order statuses. The zero Status ("") is an order not yet placed.
const (
	StatusPlaced    Status = "placed"
	StatusPaid      Status = "paid"
	StatusReserved  Status = "reserved"
	StatusShipped   Status = "shipped"
	StatusCancelled Status = "cancelled"
)

// Terminal reports whether no command can change an order in status s
// (shipped or cancelled).
func (s Status) Terminal() bool { return s == StatusShipped || s == StatusCancelled }

// Reason is why an order was cancelled.
type Reason string

// Cancellation reasons.
const (
	ReasonPaymentFailed     Reason = "payment_failed"
	ReasonOutOfStock        Reason = "out_of_stock"
	ReasonShippingFailed    Reason = "shipping_failed"
	ReasonCustomerCancelled Reason = "customer_cancelled"
)

// Valid reports whether r is one of the four reasons.
func (r Reason) Valid() bool {
	switch r {
	case ReasonPaymentFailed, ReasonOutOfStock, ReasonShippingFailed, ReasonCustomerCancelled:
		return true
	}
	return false
}

// Order is the state of one order, folded from its events.
//
// The zero Order is an order not yet placed; call Place on it. An Order is
// not safe for concurrent use.
type Order struct {
	// ID is the order id; its stream is "order-" + ID.
	ID string
	// UserID is the customer.
	UserID string
	// Status is the lifecycle state.
	Status Status
	// CancellationReason is set when Status is cancelled.
	CancellationReason Reason
	// Items are the order lines.
	Items []Item
	// TotalMinor is the order total in minor units of Currency.
	TotalMinor int64
	// Currency is the ISO 4217 code of all amounts.
	Currency string
	// PaymentMethod is what the customer pays with, e.g. "card_ok".
	PaymentMethod string
	// ShippingAddress is where the order goes.
	ShippingAddress Address
	// PaymentID is set by MarkPaid, ReservationID by MarkReserved.
	PaymentID, ReservationID string
	// Carrier and TrackingNumber are set by MarkShipped.
	Carrier, TrackingNumber string
	// Version is the number of events applied, pending ones included; for
	// a loaded order without pending events it is the stream version.
	Version int64
	// PlacedAt … CancelledAt are when each event happened (zero if not).
	PlacedAt, PaidAt, ReservedAt, ShippedAt, CancelledAt time.Time
	// UpdatedAt is when the last order event happened.
	UpdatedAt time.Time

	// changes are the events raised by commands and not yet saved.
	changes []Event
}

// Apply folds one event into the order: the evolve function. It never
// fails: it trusts that commands made the decision, and it ignores events
// it does not know (Unknown and foreign types), changing only Version.
// Events are passed by value (Placed, not *Placed).
func (o *Order) Apply(e Event) {
	o.Version++
	switch e := e.(type) {
	case Placed:
		o.ID = e.OrderID
		o.UserID = e.UserID
		o.Status = StatusPlaced
		o.Items = slices.Clone(e.Items)
		o.TotalMinor = e.TotalMinor
		o.Currency = e.Currency
		o.PaymentMethod = e.PaymentMethod
		o.ShippingAddress = e.ShippingAddress
		o.PlacedAt = e.PlacedAt
	case Paid:
		o.Status = StatusPaid
		o.PaymentID = e.PaymentID
		o.PaidAt = e.PaidAt
	case Reserved:
		o.Status = StatusReserved
		o.ReservationID = e.ReservationID
		o.ReservedAt = e.ReservedAt
	case Shipped:
		o.Status = StatusShipped
		o.Carrier = e.Carrier
		o.TrackingNumber = e.TrackingNumber
		o.ShippedAt = e.ShippedAt
	case Cancelled:
		o.Status = StatusCancelled
		o.CancellationReason = e.Reason
		o.CancelledAt = e.CancelledAt
	default:
		return
	}
	o.UpdatedAt = e.OccurredAt()
}

// Changes returns the events raised by commands on this Order value and not
// yet saved, oldest first.
func (o *Order) Changes() []Event { return slices.Clone(o.changes) }

// raise applies e and records it as a pending change.
func (o *Order) raise(e Event) []Event {
	o.Apply(e)
	o.changes = append(o.changes, e)
	return []Event{e}
}
