package payment

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
)

// Source is the metadata.source of the service's events; Group its
// consumer group.
const (
	Source = "payment-service"
	Group  = "payment-service"
)

// Topics are the topics the service consumes.
var Topics = []string{kafka.TopicOrders, kafka.TopicInventory}

// EventTypes are the types of Topics the handler acts on; the consumer
// acknowledges the others without handing them over
// (consumer.WithEventTypes).
var EventTypes = []string{order.TypePlaced, order.TypeCancelled, schema.TypeStockReservationFailed, schema.TypeStockReleased}

// PanicTriggerPrefix is a test trigger: the handler panics on an event
// (order.placed, order.cancelled, stock.reservation-failed,
// stock.released), and the command handler on a payment.process command,
// whose orderId starts with it. Orders placed through the
// API never have such ids (the server makes them), so only a producer on the
// bus can send one; the consumer runtime must retry it and dead-letter it
// (kind panic) without the process crashing. The chaos run injects them.
const PanicTriggerPrefix = "test-panic-"

// panicTrigger panics for an order id with PanicTriggerPrefix.
func panicTrigger(orderID string) {
	if strings.HasPrefix(orderID, PanicTriggerPrefix) {
		panic(fmt.Sprintf("payment: test trigger: order id %.60q", orderID))
	}
}

// Handler is the service's consumer.Handler. It is safe for concurrent
// use.
type Handler struct {
	codec *event.Codec
	now   func() time.Time
}

var _ consumer.Handler = (*Handler)(nil)

// NewHandler returns the handler; codec encodes outgoing events (it must
// know them, e.g. schema.NewCodec), now stamps them (nil: time.Now).
func NewHandler(codec *event.Codec, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	return &Handler{codec: codec, now: now}
}

// Handle implements consumer.Handler.
func (h *Handler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	env := m.Envelope
	switch env.EventType {
	case order.TypePlaced:
		e, err := order.DecodeEvent(env)
		if err != nil {
			return consumer.Permanent(err)
		}
		p := e.(order.Placed)
		panicTrigger(p.OrderID)
		cur, err := load(ctx, tx, p.OrderID)
		if err != nil {
			return err
		}
		d, err := DecideCharge(cur, p, m.Attempt, h.now())
		if err != nil {
			return err
		}
		return h.apply(ctx, tx, env, d)
	case order.TypeCancelled:
		e, err := order.DecodeEvent(env)
		if err != nil {
			return consumer.Permanent(err)
		}
		if c := e.(order.Cancelled); c.Reason == order.ReasonCustomerCancelled {
			return h.refund(ctx, tx, env, c.OrderID, schema.CauseCustomerCancelled)
		}
	case schema.TypeStockReservationFailed:
		e, err := schema.Decode[schema.StockReservationFailed](env)
		if err != nil {
			return consumer.Permanent(err)
		}
		return h.refund(ctx, tx, env, e.OrderID, schema.CauseOutOfStock)
	case schema.TypeStockReleased:
		e, err := schema.Decode[schema.StockReleased](env)
		if err != nil {
			return consumer.Permanent(err)
		}
		return h.refund(ctx, tx, env, e.OrderID, e.Cause)
	}
	return nil
}

func (h *Handler) refund(ctx context.Context, tx *sqldb.Tx, cause event.Envelope, orderID string, why schema.Cause) error {
	panicTrigger(orderID)
	cur, err := load(ctx, tx, orderID)
	if err != nil {
		return err
	}
	return h.apply(ctx, tx, cause, DecideRefund(cur, why, h.now()))
}

func (h *Handler) apply(ctx context.Context, tx *sqldb.Tx, cause event.Envelope, d Decision) error {
	return apply(ctx, tx, h.codec, cause, d, h.now())
}

// apply writes d in tx: the payment and its ledger entry, and its event
// (caused by cause) to the outbox.
func apply(ctx context.Context, tx *sqldb.Tx, codec *event.Codec, cause event.Envelope, d Decision, now time.Time) error {
	if d.Payment == nil {
		return nil
	}
	if err := save(ctx, tx, d.Payment, cause.EventID, now); err != nil {
		return err
	}
	if d.Event == nil {
		return nil
	}
	if err := schema.Emit(ctx, tx, codec, event.CausedBy(cause, Source), d.Payment.OrderID, d.Event); err != nil {
		return fmt.Errorf("payment: %w", err)
	}
	return nil
}
