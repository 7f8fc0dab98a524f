package schema_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
)

func TestContracts(t *testing.T) {
	for got, want := range map[string]string{
		schema.SourceOrder: ordersvc.Source, schema.SourcePayment: payment.Source,
		schema.SourceInventory: inventory.Source, schema.SourceShipping: shipping.Source,
	} {
		if got != want {
			t.Errorf("schema source %q, the service's is %q", got, want)
		}
	}
	c := schema.Contracts()
	// Every fixed topic has a contract, and every type of the platform's
	// registry belongs to exactly one topic.
	for _, spec := range kafka.DefaultTopics(1, -1) {
		if tc, ok := c[spec.Name]; !ok || len(tc.Types) == 0 || len(tc.Sources) == 0 {
			t.Errorf("topic %s: contract %+v", spec.Name, tc)
		}
	}
	reg, err := schema.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range reg.Types() {
		var on []string
		for topic, tc := range c {
			if slices.Contains(tc.Types, typ) {
				on = append(on, topic)
			}
		}
		if len(on) != 1 {
			t.Errorf("type %s allowed on %v, want exactly one topic", typ, on)
		}
		if topic, ok := schema.TopicOf(typ); ok && (len(on) != 1 || on[0] != topic) {
			t.Errorf("type %s is emitted to %s but allowed on %v", typ, topic, on)
		}
	}
	ok := func(topic, typ, src string) error {
		return c.Check(topic, event.Envelope{EventType: typ, Metadata: event.Metadata{Source: src}})
	}
	for _, allowed := range [][3]string{
		{kafka.TopicOrders, order.TypePlaced, ordersvc.Source},
		{kafka.TopicPayments, schema.TypePaymentSucceeded, payment.Source},
		{kafka.TopicCommandsInventory, schema.TypeInventoryReserve, saga.DefaultSource},
		{kafka.TopicSagaReplies, saga.ReplyType, shipping.Source},
	} {
		if err := ok(allowed[0], allowed[1], allowed[2]); err != nil {
			t.Errorf("%v: %v", allowed, err)
		}
	}
	for _, refused := range [][3]string{
		{kafka.TopicOrders, order.TypePlaced, "mallory"},
		{kafka.TopicInventory, order.TypePlaced, ordersvc.Source},
		{kafka.TopicPayments, schema.TypePaymentSucceeded, inventory.Source},
		{kafka.TopicCommandsPayment, schema.TypeInventoryReserve, saga.DefaultSource},
		{kafka.TopicSagaReplies, saga.ReplyType, ordersvc.Source},
	} {
		if err := ok(refused[0], refused[1], refused[2]); !errors.Is(err, event.ErrContract) {
			t.Errorf("%v: %v, want ErrContract", refused, err)
		}
	}
}
