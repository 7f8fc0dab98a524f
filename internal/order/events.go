package order

import "time"

// Event type names, as on the bus and in the event store.
const (
	TypePlaced    = "order.placed"
	TypePaid      = "order.paid"
	TypeReserved  = "order.reserved"
	TypeShipped   = "order.shipped"
	TypeCancelled = "order.cancelled"
)

// Current schema versions of the order events.
const (
	PlacedVersion    = 2
	PaidVersion      = 1
	ReservedVersion  = 1
	ShippedVersion   = 1
	CancelledVersion = 1
)

// Event is one order event's data at its current version. Placed, Paid,
// Reserved, Shipped and Cancelled implement it; Unknown stands for events of
// other types found in an order stream.
type Event interface {
	// EventType returns the event's type name, e.g. "order.placed".
	EventType() string
	// OccurredAt returns when the event happened; it becomes the
	// envelope's timestamp.
	OccurredAt() time.Time
}

// Item is one order line. Money is in minor units of the order's currency.
type Item struct {
	ProductID      string `json:"productId"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unitPriceMinor"`
}

// Address is a shipping address. Name, Line1, City and Country (ISO 3166-1
// alpha-2) are required.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country"`
}

// Placed is order.placed v2: a customer placed an order.
type Placed struct {
	OrderID         string    `json:"orderId"`
	UserID          string    `json:"userId"`
	Items           []Item    `json:"items"`
	TotalMinor      int64     `json:"totalMinor"`
	Currency        string    `json:"currency"`
	PaymentMethod   string    `json:"paymentMethod"`
	ShippingAddress Address   `json:"shippingAddress"`
	PlacedAt        time.Time `json:"placedAt"`
}

// Paid is order.paid v1: the payment for the order succeeded.
type Paid struct {
	OrderID   string    `json:"orderId"`
	PaymentID string    `json:"paymentId,omitempty"`
	PaidAt    time.Time `json:"paidAt"`
}

// Reserved is order.reserved v1: the order's stock is reserved.
type Reserved struct {
	OrderID       string    `json:"orderId"`
	ReservationID string    `json:"reservationId,omitempty"`
	ReservedAt    time.Time `json:"reservedAt"`
}

// Shipped is order.shipped v1: the order left the warehouse.
type Shipped struct {
	OrderID        string    `json:"orderId"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"trackingNumber"`
	ShippedAt      time.Time `json:"shippedAt"`
}

// Cancelled is order.cancelled v1: the order was cancelled, for Reason.
type Cancelled struct {
	OrderID     string    `json:"orderId"`
	Reason      Reason    `json:"reason"`
	CancelledAt time.Time `json:"cancelledAt"`
}

// Unknown is an event of a type the order aggregate does not know, found in
// an order stream. Applying it changes nothing but the version.
type Unknown struct {
	Type string
	At   time.Time
}

// EventType returns "order.placed".
func (Placed) EventType() string { return TypePlaced }

// EventType returns "order.paid".
func (Paid) EventType() string { return TypePaid }

// EventType returns "order.reserved".
func (Reserved) EventType() string { return TypeReserved }

// EventType returns "order.shipped".
func (Shipped) EventType() string { return TypeShipped }

// EventType returns "order.cancelled".
func (Cancelled) EventType() string { return TypeCancelled }

// EventType returns the unknown event's type.
func (u Unknown) EventType() string { return u.Type }

// OccurredAt returns PlacedAt.
func (e Placed) OccurredAt() time.Time { return e.PlacedAt }

// OccurredAt returns PaidAt.
func (e Paid) OccurredAt() time.Time { return e.PaidAt }

// OccurredAt returns ReservedAt.
func (e Reserved) OccurredAt() time.Time { return e.ReservedAt }

// OccurredAt returns ShippedAt.
func (e Shipped) OccurredAt() time.Time { return e.ShippedAt }

// OccurredAt returns CancelledAt.
func (e Cancelled) OccurredAt() time.Time { return e.CancelledAt }

// OccurredAt returns the envelope's timestamp.
func (u Unknown) OccurredAt() time.Time { return u.At }
