package schema

import "time"

// Event type names on the bus.
const (
	TypePaymentSucceeded       = "payment.succeeded"
	TypePaymentFailed          = "payment.failed"
	TypePaymentRefunded        = "payment.refunded"
	TypeStockReserved          = "stock.reserved"
	TypeStockReservationFailed = "stock.reservation-failed"
	TypeStockReleased          = "stock.released"
	TypeShipmentCreated        = "shipment.created"
	TypeShipmentFailed         = "shipment.failed"
	TypeShipmentCancelled      = "shipment.cancelled"
)

// Current schema versions. Every type is at version 1; a later shape adds
// an upcaster from the previous version in Register.
const (
	PaymentSucceededVersion       = 1
	PaymentFailedVersion          = 1
	PaymentRefundedVersion        = 1
	StockReservedVersion          = 1
	StockReservationFailedVersion = 1
	StockReleasedVersion          = 1
	ShipmentCreatedVersion        = 1
	ShipmentFailedVersion         = 1
	ShipmentCancelledVersion      = 1
)

// Cause says which step of the flow a compensation undoes. Its values
// equal the order cancellation reasons they lead to.
type Cause string

// Causes of refunds and releases.
const (
	CauseOutOfStock        Cause = "out_of_stock"
	CauseShippingFailed    Cause = "shipping_failed"
	CauseCustomerCancelled Cause = "customer_cancelled"
	// CausePaymentFailed: the payment step itself is undone because it
	// timed out (orchestration only): a charge that went through after all
	// is refunded.
	CausePaymentFailed Cause = "payment_failed"
)

// Valid reports whether c is one of the causes.
func (c Cause) Valid() bool {
	switch c {
	case CauseOutOfStock, CauseShippingFailed, CauseCustomerCancelled, CausePaymentFailed:
		return true
	}
	return false
}

// Reasons of failures.
const (
	// ReasonCardDeclined: the gateway declined the card (payment.failed).
	ReasonCardDeclined = "card_declined"
	// ReasonUnsupportedMethod: the gateway does not know the payment
	// method (payment.failed).
	ReasonUnsupportedMethod = "unsupported_payment_method"
	// ReasonOutOfStock: an item is not available in the quantity ordered
	// (stock.reservation-failed).
	ReasonOutOfStock = "out_of_stock"
	// ReasonUnsupportedCountry: no carrier ships to the address's country
	// (shipment.failed).
	ReasonUnsupportedCountry = "unsupported_country"
)

// PaymentSucceeded is payment.succeeded v1: the order's total was
// authorised and captured.
type PaymentSucceeded struct {
	OrderID     string    `json:"orderId"`
	UserID      string    `json:"userId"`
	PaymentID   string    `json:"paymentId"`
	AmountMinor int64     `json:"amountMinor"`
	Currency    string    `json:"currency"`
	Method      string    `json:"method"`
	SucceededAt time.Time `json:"succeededAt"`
}

// PaymentFailed is payment.failed v1: the payment was refused for Reason
// (ReasonCardDeclined, ReasonUnsupportedMethod); nothing was charged.
type PaymentFailed struct {
	OrderID     string    `json:"orderId"`
	UserID      string    `json:"userId"`
	AmountMinor int64     `json:"amountMinor"`
	Currency    string    `json:"currency"`
	Method      string    `json:"method"`
	Reason      string    `json:"reason"`
	FailedAt    time.Time `json:"failedAt"`
}

// PaymentRefunded is payment.refunded v1: the captured amount was given
// back, because of Cause (the failed step, or the customer's cancel).
type PaymentRefunded struct {
	OrderID     string    `json:"orderId"`
	UserID      string    `json:"userId"`
	PaymentID   string    `json:"paymentId"`
	AmountMinor int64     `json:"amountMinor"`
	Currency    string    `json:"currency"`
	Cause       Cause     `json:"cause"`
	RefundedAt  time.Time `json:"refundedAt"`
}

// Line is a product and a quantity.
type Line struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

// StockReserved is stock.reserved v1: every line of the order is reserved.
type StockReserved struct {
	OrderID       string    `json:"orderId"`
	UserID        string    `json:"userId"`
	ReservationID string    `json:"reservationId"`
	Items         []Line    `json:"items"`
	ReservedAt    time.Time `json:"reservedAt"`
}

// StockReservationFailed is stock.reservation-failed v1: nothing was
// reserved, for Reason (ReasonOutOfStock); Missing lists the lines that
// could not be served.
type StockReservationFailed struct {
	OrderID  string    `json:"orderId"`
	UserID   string    `json:"userId"`
	Reason   string    `json:"reason"`
	Missing  []Line    `json:"missing,omitempty"`
	FailedAt time.Time `json:"failedAt"`
}

// StockReleased is stock.released v1: a reservation was given back,
// because of Cause.
type StockReleased struct {
	OrderID       string    `json:"orderId"`
	UserID        string    `json:"userId"`
	ReservationID string    `json:"reservationId"`
	Items         []Line    `json:"items"`
	Cause         Cause     `json:"cause"`
	ReleasedAt    time.Time `json:"releasedAt"`
}

// ShipmentCreated is shipment.created v1: a carrier has the parcel.
type ShipmentCreated struct {
	OrderID        string    `json:"orderId"`
	UserID         string    `json:"userId"`
	ShipmentID     string    `json:"shipmentId"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"trackingNumber"`
	Country        string    `json:"country"`
	CreatedAt      time.Time `json:"createdAt"`
}

// ShipmentFailed is shipment.failed v1: no shipment could be created, for
// Reason (ReasonUnsupportedCountry).
type ShipmentFailed struct {
	OrderID  string    `json:"orderId"`
	UserID   string    `json:"userId"`
	Reason   string    `json:"reason"`
	Country  string    `json:"country"`
	FailedAt time.Time `json:"failedAt"`
}

// ShipmentCancelled is shipment.cancelled v1: a created shipment was
// cancelled, because of Cause.
type ShipmentCancelled struct {
	OrderID     string    `json:"orderId"`
	UserID      string    `json:"userId"`
	ShipmentID  string    `json:"shipmentId"`
	Cause       Cause     `json:"cause"`
	CancelledAt time.Time `json:"cancelledAt"`
}
