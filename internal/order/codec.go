package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/event"
)

// PlacedV1 is order.placed version 1, the original shape: money as decimal
// JSON numbers in US dollars, no currency field. It is read only, through
// UpcastPlacedV1; nothing writes it any more.
//
//	{"orderId": "o-1", "userId": "u-42",
//	 "items": [{"productId": "p-1", "quantity": 2, "price": 12.99}],
//	 "totalAmount": 25.98, "paymentMethod": "card_ok",
//	 "shippingAddress": {…}, "placedAt": "2026-11-25T18:05:37.123Z"}
type PlacedV1 struct {
	OrderID         string          `json:"orderId"`
	UserID          string          `json:"userId"`
	Items           []ItemV1        `json:"items"`
	TotalAmount     json.RawMessage `json:"totalAmount"`
	PaymentMethod   string          `json:"paymentMethod"`
	ShippingAddress Address         `json:"shippingAddress"`
	PlacedAt        time.Time       `json:"placedAt"`
	// Currency is not part of v1; if present it must be "USD".
	Currency string `json:"currency,omitempty"`
}

// ItemV1 is an order line of order.placed v1; Price is a decimal number of
// dollars, e.g. 12.99.
type ItemV1 struct {
	ProductID string          `json:"productId"`
	Quantity  int             `json:"quantity"`
	Price     json.RawMessage `json:"price"`
}

// v1Currency is the currency every order.placed v1 was in.
const v1Currency = "USD"

// UpcastPlacedV1 converts order.placed v1 data to v2: prices and the total
// become integer cents (unitPriceMinor, totalMinor), exactly — the decimal
// text is converted digit by digit, never through a float — and currency
// becomes "USD". It fails if an amount is missing, is not a JSON number, is
// negative, has more than 2 decimal places or does not fit in an int64.
func UpcastPlacedV1(data json.RawMessage) (json.RawMessage, error) {
	var v1 PlacedV1
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, fmt.Errorf("order.placed v1: %w", err)
	}
	if v1.Currency != "" && v1.Currency != v1Currency {
		return nil, fmt.Errorf("order.placed v1: currency %.10q, but v1 amounts are US dollars", v1.Currency)
	}
	v2 := Placed{
		OrderID:         v1.OrderID,
		UserID:          v1.UserID,
		Items:           make([]Item, len(v1.Items)),
		Currency:        v1Currency,
		PaymentMethod:   v1.PaymentMethod,
		ShippingAddress: v1.ShippingAddress,
		PlacedAt:        v1.PlacedAt,
	}
	var errs []error
	for i, it := range v1.Items {
		price, err := DecimalToMinor(string(it.Price), 2)
		if err != nil {
			errs = append(errs, fmt.Errorf("items[%d].price: %w", i, err))
		}
		v2.Items[i] = Item{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceMinor: price}
	}
	total, err := DecimalToMinor(string(v1.TotalAmount), 2)
	if err != nil {
		errs = append(errs, fmt.Errorf("totalAmount: %w", err))
	}
	v2.TotalMinor = total
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("order.placed v1: %w", err)
	}
	return json.Marshal(v2)
}

// RegisterEvents registers the order event types, at their current
// versions, with the upcaster of order.placed v1.
func RegisterEvents(reg *event.Registry) error {
	for _, r := range []struct {
		typ       string
		version   int
		upcasters []event.Upcaster
	}{
		{TypePlaced, PlacedVersion, []event.Upcaster{{From: 1, Up: UpcastPlacedV1}}},
		{TypePaid, PaidVersion, nil},
		{TypeReserved, ReservedVersion, nil},
		{TypeShipped, ShippedVersion, nil},
		{TypeCancelled, CancelledVersion, nil},
	} {
		if err := reg.Register(r.typ, r.version, r.upcasters...); err != nil {
			return fmt.Errorf("order: register events: %w", err)
		}
	}
	return nil
}

// NewCodec returns a codec for a fresh registry holding the order events.
func NewCodec() (*event.Codec, error) {
	reg := event.NewRegistry()
	if err := RegisterEvents(reg); err != nil {
		return nil, err
	}
	return event.NewCodec(reg), nil
}

// currentVersion returns the version ToEnvelope writes for typ.
func currentVersion(typ string) (int, bool) {
	switch typ {
	case TypePlaced:
		return PlacedVersion, true
	case TypePaid:
		return PaidVersion, true
	case TypeReserved:
		return ReservedVersion, true
	case TypeShipped:
		return ShippedVersion, true
	case TypeCancelled:
		return CancelledVersion, true
	}
	return 0, false
}

// ToEnvelope wraps e in an envelope at its current version, with a new
// event id, md as metadata, and e.OccurredAt() (UTC, milliseconds) as the
// timestamp.
func ToEnvelope(e Event, md event.Metadata) (event.Envelope, error) {
	v, ok := currentVersion(e.EventType())
	if !ok {
		return event.Envelope{}, fmt.Errorf("%w: %q is not an order event", ErrBadEvent, e.EventType())
	}
	env, err := event.New(e.EventType(), v, e, md)
	if err != nil {
		return event.Envelope{}, fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	env.Timestamp = normTime(e.OccurredAt())
	return env, nil
}

// DecodeEvent turns an envelope at the current version of its type (as
// event.Codec's Decode and Upcast return) into an Event. Types that are not
// order events give Unknown. Data with unknown fields, missing required
// fields or impossible values gives an error matching ErrBadEvent.
func DecodeEvent(env event.Envelope) (Event, error) {
	want, ok := currentVersion(env.EventType)
	if !ok {
		return Unknown{Type: env.EventType, At: env.Timestamp}, nil
	}
	if env.Version != want {
		return nil, fmt.Errorf("%w: %s v%d, want v%d (upcast it first)", ErrBadEvent, env.EventType, env.Version, want)
	}
	var (
		e   Event
		err error
	)
	switch env.EventType {
	case TypePlaced:
		e, err = decodeStrict[Placed](env.Data)
	case TypePaid:
		e, err = decodeStrict[Paid](env.Data)
	case TypeReserved:
		e, err = decodeStrict[Reserved](env.Data)
	case TypeShipped:
		e, err = decodeStrict[Shipped](env.Data)
	case TypeCancelled:
		e, err = decodeStrict[Cancelled](env.Data)
	}
	if err == nil {
		err = checkEvent(e)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s v%d: %w", ErrBadEvent, env.EventType, env.Version, err)
	}
	return e, nil
}

// decodeStrict unmarshals exactly one JSON object without unknown fields.
func decodeStrict[T any](data []byte) (T, error) {
	var v T
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, err
	}
	if dec.More() {
		return v, errors.New("trailing data")
	}
	return v, nil
}

// checkEvent checks what Apply relies on: ids, amounts, reasons and times.
func checkEvent(e Event) error {
	var p problems
	switch e := e.(type) {
	case Placed:
		checkID(&p, "orderId", e.OrderID)
		checkID(&p, "userId", e.UserID)
		if len(e.Items) == 0 {
			p.add("items", "at least one item is required")
		}
		for i, it := range e.Items {
			if it.Quantity < 1 {
				p.add(fmt.Sprintf("items[%d].quantity", i), "%d, must be ≥ 1", it.Quantity)
			}
			if it.UnitPriceMinor < 0 {
				p.add(fmt.Sprintf("items[%d].unitPriceMinor", i), "negative")
			}
		}
		if e.TotalMinor < 0 {
			p.add("totalMinor", "negative")
		}
		if len(e.Currency) != 3 {
			p.add("currency", "%.10q is not an ISO 4217 code", e.Currency)
		}
	case Paid:
		checkID(&p, "orderId", e.OrderID)
	case Reserved:
		checkID(&p, "orderId", e.OrderID)
	case Shipped:
		checkID(&p, "orderId", e.OrderID)
	case Cancelled:
		checkID(&p, "orderId", e.OrderID)
		if !e.Reason.Valid() {
			p.add("reason", "%.40q is not a cancellation reason", e.Reason)
		}
	}
	checkTime(&p, e.OccurredAt())
	errs := make([]error, len(p))
	for i, fe := range p {
		errs[i] = fe
	}
	return errors.Join(errs...)
}
