package schema_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
)

var at = time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)

func TestRoundTrip(t *testing.T) {
	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	md := event.Metadata{CorrelationID: "c-1", CausationID: "e-0", Source: "test"}
	lines := []schema.Line{{ProductID: "p-1", Quantity: 2}}
	tests := []struct {
		data  any
		typ   string
		topic string
		back  func(event.Envelope) (any, error)
	}{
		{schema.PaymentSucceeded{OrderID: "o-1", UserID: "u-1", PaymentID: "pay-1", AmountMinor: 2598, Currency: "USD", Method: "card_ok", SucceededAt: at},
			schema.TypePaymentSucceeded, kafka.TopicPayments, decodeAny[schema.PaymentSucceeded]},
		{schema.PaymentFailed{OrderID: "o-1", UserID: "u-1", AmountMinor: 1, Currency: "EUR", Method: "card_declined", Reason: schema.ReasonCardDeclined, FailedAt: at},
			schema.TypePaymentFailed, kafka.TopicPayments, decodeAny[schema.PaymentFailed]},
		{schema.PaymentRefunded{OrderID: "o-1", UserID: "u-1", PaymentID: "pay-1", AmountMinor: 2598, Currency: "USD", Cause: schema.CauseOutOfStock, RefundedAt: at},
			schema.TypePaymentRefunded, kafka.TopicPayments, decodeAny[schema.PaymentRefunded]},
		{schema.StockReserved{OrderID: "o-1", UserID: "u-1", ReservationID: "r-1", Items: lines, ReservedAt: at},
			schema.TypeStockReserved, kafka.TopicInventory, decodeAny[schema.StockReserved]},
		{schema.StockReservationFailed{OrderID: "o-1", UserID: "u-1", Reason: schema.ReasonOutOfStock, Missing: lines, FailedAt: at},
			schema.TypeStockReservationFailed, kafka.TopicInventory, decodeAny[schema.StockReservationFailed]},
		{schema.StockReleased{OrderID: "o-1", UserID: "u-1", ReservationID: "r-1", Items: lines, Cause: schema.CauseShippingFailed, ReleasedAt: at},
			schema.TypeStockReleased, kafka.TopicInventory, decodeAny[schema.StockReleased]},
		{schema.ShipmentCreated{OrderID: "o-1", UserID: "u-1", ShipmentID: "s-1", Carrier: "DHL", TrackingNumber: "CW1", Country: "US", CreatedAt: at},
			schema.TypeShipmentCreated, kafka.TopicShipping, decodeAny[schema.ShipmentCreated]},
		{schema.ShipmentFailed{OrderID: "o-1", UserID: "u-1", Reason: schema.ReasonUnsupportedCountry, Country: "XX", FailedAt: at},
			schema.TypeShipmentFailed, kafka.TopicShipping, decodeAny[schema.ShipmentFailed]},
		{schema.ShipmentCancelled{OrderID: "o-1", UserID: "u-1", ShipmentID: "s-1", Cause: schema.CauseCustomerCancelled, CancelledAt: at},
			schema.TypeShipmentCancelled, kafka.TopicShipping, decodeAny[schema.ShipmentCancelled]},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			env, err := schema.New(tt.data, md)
			if err != nil {
				t.Fatal(err)
			}
			if env.EventType != tt.typ || env.Version != 1 || env.Metadata != md {
				t.Fatalf("got %s v%d %+v, want %s v1 %+v", env.EventType, env.Version, env.Metadata, tt.typ, md)
			}
			msg, err := schema.Message(context.Background(), codec, env, "o-1")
			if err != nil {
				t.Fatal(err)
			}
			if msg.Topic != tt.topic || msg.Key != "o-1" {
				t.Errorf("got topic %q key %q, want %q o-1", msg.Topic, msg.Key, tt.topic)
			}
			decoded, err := codec.Decode(msg.Value)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.back(decoded)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.data) {
				t.Errorf("got %+v, want %+v", got, tt.data)
			}
		})
	}
}

func decodeAny[T any](env event.Envelope) (any, error) { return schema.Decode[T](env) }

func TestCodecKnowsEveryPlatformEvent(t *testing.T) {
	reg, err := schema.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{order.TypePlaced, order.TypeCancelled, schema.TypePaymentSucceeded, schema.TypeShipmentCancelled, schema.TypeStockReservationFailed} {
		if _, ok := reg.Latest(typ); !ok {
			t.Errorf("%s not registered", typ)
		}
	}
	if v, _ := reg.Latest(order.TypePlaced); v != order.PlacedVersion {
		t.Errorf("order.placed v%d, want v%d", v, order.PlacedVersion)
	}
}

func TestErrors(t *testing.T) {
	if _, err := schema.New(struct{}{}, event.Metadata{}); !errors.Is(err, schema.ErrNotSchemaEvent) {
		t.Errorf("New(struct{}): got %v, want ErrNotSchemaEvent", err)
	}
	env, err := schema.New(schema.PaymentFailed{OrderID: "o-1"}, event.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := schema.Decode[schema.PaymentSucceeded](env); err == nil {
		t.Error("decoding payment.failed as payment.succeeded: no error")
	}
	if err := schema.Register(event.NewRegistry()); err != nil {
		t.Errorf("Register on a fresh registry: %v", err)
	}
	reg, _ := schema.NewRegistry()
	if err := schema.Register(reg); err == nil {
		t.Error("registering twice: no error")
	}
	for _, c := range []schema.Cause{schema.CauseOutOfStock, schema.CauseShippingFailed, schema.CauseCustomerCancelled, schema.CausePaymentFailed} {
		if !c.Valid() || !order.Reason(c).Valid() {
			t.Errorf("cause %q must be valid and an order reason", c)
		}
	}
	if schema.Cause("placed").Valid() || schema.Cause("").Valid() {
		t.Error("placed and the empty cause are not compensation causes")
	}
}
