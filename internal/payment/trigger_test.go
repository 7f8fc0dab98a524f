package payment_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
)

// TestPanicTrigger: an event whose orderId has PanicTriggerPrefix makes
// the handler panic (before it touches the database), and consumer.Recover
// turns that into a *PanicError the runtime retries and dead-letters; an
// ordinary id does not reach the trigger.
func TestPanicTrigger(t *testing.T) {
	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	h := consumer.Recover()(payment.NewHandler(codec, nil))
	for _, tc := range []struct {
		typ  string
		data any
	}{
		{schema.TypeStockReleased, schema.StockReleased{OrderID: payment.PanicTriggerPrefix + "1", Cause: schema.CauseShippingFailed}},
		{schema.TypeStockReservationFailed, schema.StockReservationFailed{OrderID: payment.PanicTriggerPrefix + "2"}},
	} {
		env, err := event.New(tc.typ, 1, tc.data, event.Metadata{CorrelationID: "c", Source: "inventory-service"})
		if err != nil {
			t.Fatal(err)
		}
		err = h.Handle(context.Background(), nil, &consumer.Message{Envelope: env})
		var pe *consumer.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("%s: got %v, want a *consumer.PanicError", tc.typ, err)
		}
		if got := pe.Error(); !strings.Contains(got, "test trigger") {
			t.Errorf("%s: panic %q, want the test trigger's message", tc.typ, got)
		}
	}
}

// TestCommandPanicTrigger: the same trigger on the orchestrated side, a
// payment.process command (the orchestration chaos run injects one).
func TestCommandPanicTrigger(t *testing.T) {
	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	env, err := event.New(schema.TypePaymentProcess, schema.CommandVersion, schema.ProcessPayment{OrderID: payment.PanicTriggerPrefix + "3",
		UserID: "u", AmountMinor: 1, Currency: "USD", Method: "card_ok"}, event.Metadata{CorrelationID: "c", Source: "saga-orchestrator"})
	if err != nil {
		t.Fatal(err)
	}
	err = consumer.Recover()(payment.NewCommandHandler(codec, nil)).Handle(context.Background(), nil, &consumer.Message{Envelope: env})
	var pe *consumer.PanicError
	if !errors.As(err, &pe) || !strings.Contains(pe.Error(), "test trigger") {
		t.Fatalf("payment.process for a trigger id: %v, want the trigger's *consumer.PanicError", err)
	}
}
