package schema

import (
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
)

// The metadata.source of each producer on the bus: the services' Source
// constants (ordersvc.Source, payment.Source, …; a test pins them equal)
// and the orchestrator's, saga.DefaultSource, which sends the commands.
const (
	SourceOrder        = "order-service"
	SourcePayment      = "payment-service"
	SourceInventory    = "inventory-service"
	SourceShipping     = "shipping-service"
	SourceOrchestrator = saga.DefaultSource
)

// Contracts is the bus contract of the platform's fixed topics: which
// event types each carries and which service produces them. Every
// consumer group and projection checks what it reads against it
// (consumer.WithContracts, projection.WithContracts), so a misrouted or
// naively forged event is dead-lettered (kind "contract") or skipped by
// the read side instead of acted on. Dead-letter and replay topics have
// no contract of their own: a replayed letter is checked against its
// original topic.
func Contracts() event.Contracts {
	c := event.Contracts{
		kafka.TopicOrders: {
			Types:   []string{order.TypePlaced, order.TypePaid, order.TypeReserved, order.TypeShipped, order.TypeCancelled},
			Sources: []string{SourceOrder},
		},
		kafka.TopicSagaReplies: {
			Types:   []string{saga.ReplyType},
			Sources: []string{SourcePayment, SourceInventory, SourceShipping},
		},
	}
	producers := map[string]string{
		kafka.TopicPayments:          SourcePayment,
		kafka.TopicInventory:         SourceInventory,
		kafka.TopicShipping:          SourceShipping,
		kafka.TopicCommandsPayment:   SourceOrchestrator,
		kafka.TopicCommandsInventory: SourceOrchestrator,
		kafka.TopicCommandsShipping:  SourceOrchestrator,
	}
	add := func(typ, topic string) {
		tc := c[topic]
		tc.Types = append(tc.Types, typ)
		tc.Sources = []string{producers[topic]}
		c[topic] = tc
	}
	for _, t := range types {
		add(t.typ, t.topic)
	}
	for _, cmd := range commands {
		add(cmd.typ, cmd.topic)
	}
	return c
}
