package order

import (
	"fmt"
	"math"
	"time"
)

// Input limits checked by Place.
const (
	// MaxItems is the most lines an order may have.
	MaxItems = 100
	// MaxQuantity is the largest quantity of one line.
	MaxQuantity = 1000
	// maxIDLen bounds ids (order, user, product, payment, …) in bytes.
	maxIDLen = 128
	// maxTextLen bounds free text (address lines, carrier, …) in bytes.
	maxTextLen = 200
)

// KnownCurrency reports whether code is an ISO 4217 currency the platform
// accepts: USD, EUR, GBP, CHF, CAD, AUD, JPY. Amounts are always integer
// minor units of the currency (cents; yen for JPY).
func KnownCurrency(code string) bool {
	switch code {
	case "USD", "EUR", "GBP", "CHF", "CAD", "AUD", "JPY":
		return true
	}
	return false
}

// PlaceOrder is the input of Order.Place. Prices come from the catalog,
// never from the client.
type PlaceOrder struct {
	OrderID         string
	UserID          string
	Items           []Item
	Currency        string
	PaymentMethod   string
	ShippingAddress Address
	// At is when the order was placed.
	At time.Time
}

// Place places a new order: on a zero Order it validates cmd and raises
// Placed, with TotalMinor the sum of the lines. Every problem with cmd is
// reported in one *ValidationError (ErrInvalid). On an order that was
// already placed it returns a *TransitionError: use Repository.Create, whose
// expected-version check detects a duplicate, and an Idempotency-Key at the
// API for retried requests.
func (o *Order) Place(cmd PlaceOrder) ([]Event, error) {
	var p problems
	checkID(&p, "orderId", cmd.OrderID)
	checkID(&p, "userId", cmd.UserID)
	switch n := len(cmd.Items); {
	case n == 0:
		p.add("items", "at least one item is required")
	case n > MaxItems:
		p.add("items", "%d items, at most %d allowed", n, MaxItems)
	}
	var total int64
	overflow := false
	for i, it := range cmd.Items {
		f := fmt.Sprintf("items[%d]", i)
		checkID(&p, f+".productId", it.ProductID)
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			p.add(f+".quantity", "%d, must be between 1 and %d", it.Quantity, MaxQuantity)
		}
		if it.UnitPriceMinor < 0 {
			p.add(f+".unitPriceMinor", "%d, must not be negative", it.UnitPriceMinor)
		}
		if it.Quantity > 0 && it.UnitPriceMinor > 0 {
			line := int64(it.Quantity)
			if it.UnitPriceMinor > math.MaxInt64/line || total > math.MaxInt64-line*it.UnitPriceMinor {
				overflow = true
			} else {
				total += line * it.UnitPriceMinor
			}
		}
	}
	if overflow {
		p.add("items", "the total does not fit in an int64 of minor units")
	}
	if !KnownCurrency(cmd.Currency) {
		p.add("currency", "%.10q is not a supported currency", cmd.Currency)
	}
	checkID(&p, "paymentMethod", cmd.PaymentMethod)
	a := cmd.ShippingAddress
	checkText(&p, "shippingAddress.name", a.Name, true)
	checkText(&p, "shippingAddress.line1", a.Line1, true)
	checkText(&p, "shippingAddress.line2", a.Line2, false)
	checkText(&p, "shippingAddress.city", a.City, true)
	checkText(&p, "shippingAddress.region", a.Region, false)
	checkText(&p, "shippingAddress.postalCode", a.PostalCode, false)
	if len(a.Country) != 2 || !isUpper(a.Country[0]) || !isUpper(a.Country[1]) {
		p.add("shippingAddress.country", "%.10q is not an ISO 3166-1 alpha-2 code", a.Country)
	}
	checkTime(&p, cmd.At)
	if err := p.err(); err != nil {
		return nil, err
	}
	if o.Status != "" {
		return nil, &TransitionError{From: o.Status, Command: "place"}
	}
	return o.raise(Placed{
		OrderID:         cmd.OrderID,
		UserID:          cmd.UserID,
		Items:           append([]Item(nil), cmd.Items...),
		TotalMinor:      total,
		Currency:        cmd.Currency,
		PaymentMethod:   cmd.PaymentMethod,
		ShippingAddress: a,
		PlacedAt:        normTime(cmd.At),
	}), nil
}

// MarkPaid records that the payment succeeded: placed → paid. On an order
// already paid, reserved or shipped it is a no-op (no events, no error);
// on a cancelled or unplaced order it returns a *TransitionError.
// paymentID is optional.
func (o *Order) MarkPaid(paymentID string, at time.Time) ([]Event, error) {
	var p problems
	checkOptionalID(&p, "paymentId", paymentID)
	checkTime(&p, at)
	if err := p.err(); err != nil {
		return nil, err
	}
	switch o.Status {
	case StatusPlaced:
		return o.raise(Paid{OrderID: o.ID, PaymentID: paymentID, PaidAt: normTime(at)}), nil
	case StatusPaid, StatusReserved, StatusShipped:
		return nil, nil
	}
	return nil, &TransitionError{From: o.Status, Command: "pay"}
}

// MarkReserved records that the stock is reserved: paid → reserved. On an
// order already reserved or shipped it is a no-op; on a placed (not yet
// paid), cancelled or unplaced order it returns a *TransitionError.
// reservationID is optional.
func (o *Order) MarkReserved(reservationID string, at time.Time) ([]Event, error) {
	var p problems
	checkOptionalID(&p, "reservationId", reservationID)
	checkTime(&p, at)
	if err := p.err(); err != nil {
		return nil, err
	}
	switch o.Status {
	case StatusPaid:
		return o.raise(Reserved{OrderID: o.ID, ReservationID: reservationID, ReservedAt: normTime(at)}), nil
	case StatusReserved, StatusShipped:
		return nil, nil
	}
	return nil, &TransitionError{From: o.Status, Command: "reserve"}
}

// MarkShipped records the shipment: reserved → shipped. Carrier and
// trackingNumber are required. On a shipped order it is a no-op; in any
// other state it returns a *TransitionError.
func (o *Order) MarkShipped(carrier, trackingNumber string, at time.Time) ([]Event, error) {
	var p problems
	checkText(&p, "carrier", carrier, true)
	checkID(&p, "trackingNumber", trackingNumber)
	checkTime(&p, at)
	if err := p.err(); err != nil {
		return nil, err
	}
	switch o.Status {
	case StatusReserved:
		return o.raise(Shipped{OrderID: o.ID, Carrier: carrier, TrackingNumber: trackingNumber, ShippedAt: normTime(at)}), nil
	case StatusShipped:
		return nil, nil
	}
	return nil, &TransitionError{From: o.Status, Command: "ship"}
}

// Cancel cancels the order for reason: placed, paid or reserved →
// cancelled. A shipped order cannot be cancelled (*TransitionError, HTTP
// 409). On a cancelled order, repeating a system cancellation with the same
// reason (a redelivered payment.failed, say) is a no-op; any other cancel,
// including every customer_cancelled, returns a *TransitionError, so the
// API answers 409 once an order is cancelled.
func (o *Order) Cancel(reason Reason, at time.Time) ([]Event, error) {
	var p problems
	if !reason.Valid() {
		p.add("reason", "%.40q is not a cancellation reason", reason)
	}
	checkTime(&p, at)
	if err := p.err(); err != nil {
		return nil, err
	}
	switch o.Status {
	case StatusPlaced, StatusPaid, StatusReserved:
		return o.raise(Cancelled{OrderID: o.ID, Reason: reason, CancelledAt: normTime(at)}), nil
	case StatusCancelled:
		if reason == o.CancellationReason && reason != ReasonCustomerCancelled {
			return nil, nil
		}
	}
	return nil, &TransitionError{From: o.Status, Command: "cancel", Reason: reason}
}

// normTime is the precision of events: UTC milliseconds, as envelopes keep.
func normTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

func checkTime(p *problems, t time.Time) {
	if y := t.UTC().Year(); t.IsZero() || y < 1 || y > 9999 {
		p.add("at", "a time between years 0001 and 9999 is required")
	}
}

// checkID requires 1–128 bytes of visible ASCII.
func checkID(p *problems, field, s string) {
	switch {
	case s == "":
		p.add(field, "required")
	case len(s) > maxIDLen:
		p.add(field, "%d bytes, at most %d allowed", len(s), maxIDLen)
	default:
		for i := 0; i < len(s); i++ {
			if s[i] < 0x21 || s[i] > 0x7e {
				p.add(field, "must be visible ASCII without spaces")
				return
			}
		}
	}
}

func checkOptionalID(p *problems, field, s string) {
	if s != "" {
		checkID(p, field, s)
	}
}

// checkText bounds free text and rejects control characters and invalid
// UTF-8.
func checkText(p *problems, field, s string, required bool) {
	switch {
	case s == "":
		if required {
			p.add(field, "required")
		}
	case len(s) > maxTextLen:
		p.add(field, "%d bytes, at most %d allowed", len(s), maxTextLen)
	default:
		for _, r := range s {
			if r == 0xFFFD || r < 0x20 || r == 0x7f {
				p.add(field, "contains a control character or invalid UTF-8")
				return
			}
		}
	}
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
