package schema

import (
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
)

// ErrNotSchemaEvent: New was given data of a type this package does not
// define.
var ErrNotSchemaEvent = errors.New("schema: not a payment, stock or shipment event")

// types lists every type of the package with its version and topic.
var types = []struct {
	typ     string
	version int
	topic   string
}{
	{TypePaymentSucceeded, PaymentSucceededVersion, kafka.TopicPayments},
	{TypePaymentFailed, PaymentFailedVersion, kafka.TopicPayments},
	{TypePaymentRefunded, PaymentRefundedVersion, kafka.TopicPayments},
	{TypeStockReserved, StockReservedVersion, kafka.TopicInventory},
	{TypeStockReservationFailed, StockReservationFailedVersion, kafka.TopicInventory},
	{TypeStockReleased, StockReleasedVersion, kafka.TopicInventory},
	{TypeShipmentCreated, ShipmentCreatedVersion, kafka.TopicShipping},
	{TypeShipmentFailed, ShipmentFailedVersion, kafka.TopicShipping},
	{TypeShipmentCancelled, ShipmentCancelledVersion, kafka.TopicShipping},
}

// Register registers the payment, stock and shipment event types at their
// current versions.
func Register(reg *event.Registry) error {
	for _, t := range types {
		if err := reg.Register(t.typ, t.version); err != nil {
			return fmt.Errorf("schema: register: %w", err)
		}
	}
	return nil
}

// NewRegistry returns a registry of every platform event: the order events
// (order.RegisterEvents), this package's events and commands, and the
// orchestrator's replies (saga.ReplyType).
func NewRegistry() (*event.Registry, error) {
	reg := event.NewRegistry()
	if err := order.RegisterEvents(reg); err != nil {
		return nil, err
	}
	if err := Register(reg); err != nil {
		return nil, err
	}
	if err := RegisterCommands(reg); err != nil {
		return nil, err
	}
	if err := saga.RegisterTypes(reg); err != nil {
		return nil, fmt.Errorf("schema: register: %w", err)
	}
	return reg, nil
}

// NewCodec returns a codec that knows every platform event.
func NewCodec() (*event.Codec, error) {
	reg, err := NewRegistry()
	if err != nil {
		return nil, err
	}
	return event.NewCodec(reg), nil
}

// TopicOf returns the topic events of typ go to, and false for types not
// defined here.
func TopicOf(typ string) (string, bool) {
	for _, t := range types {
		if t.typ == typ {
			return t.topic, true
		}
	}
	return "", false
}

// typeOf returns the type name and version of one of the data structs.
func typeOf(data any) (string, int, bool) {
	switch data.(type) {
	case PaymentSucceeded, *PaymentSucceeded:
		return TypePaymentSucceeded, PaymentSucceededVersion, true
	case PaymentFailed, *PaymentFailed:
		return TypePaymentFailed, PaymentFailedVersion, true
	case PaymentRefunded, *PaymentRefunded:
		return TypePaymentRefunded, PaymentRefundedVersion, true
	case StockReserved, *StockReserved:
		return TypeStockReserved, StockReservedVersion, true
	case StockReservationFailed, *StockReservationFailed:
		return TypeStockReservationFailed, StockReservationFailedVersion, true
	case StockReleased, *StockReleased:
		return TypeStockReleased, StockReleasedVersion, true
	case ShipmentCreated, *ShipmentCreated:
		return TypeShipmentCreated, ShipmentCreatedVersion, true
	case ShipmentFailed, *ShipmentFailed:
		return TypeShipmentFailed, ShipmentFailedVersion, true
	case ShipmentCancelled, *ShipmentCancelled:
		return TypeShipmentCancelled, ShipmentCancelledVersion, true
	}
	return "", 0, false
}

// New wraps data (one of this package's structs) in an envelope of its
// type at its current version, with a new event id and md.
func New(data any, md event.Metadata) (event.Envelope, error) {
	typ, v, ok := typeOf(data)
	if !ok {
		return event.Envelope{}, fmt.Errorf("%w: %T", ErrNotSchemaEvent, data)
	}
	return event.New(typ, v, data, md)
}

// Decode unmarshals the data of env into v. It is a thin wrapper over
// Envelope.UnmarshalData that checks the type first.
func Decode[T any](env event.Envelope) (T, error) {
	var v T
	typ, _, ok := typeOf(v)
	if !ok {
		return v, fmt.Errorf("%w: %T", ErrNotSchemaEvent, v)
	}
	if env.EventType != typ {
		return v, fmt.Errorf("schema: decode %s as %s", env.EventType, typ)
	}
	if err := env.UnmarshalData(&v); err != nil {
		return v, err
	}
	return v, nil
}
