package shipping

import (
	"context"
	"fmt"
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
	Source = "shipping-service"
	Group  = "shipping-service"
)

// Topics are the topics the service consumes.
var Topics = []string{kafka.TopicOrders, kafka.TopicInventory}

// EventTypes are the types of Topics the handler acts on; the consumer
// acknowledges the others without handing them over
// (consumer.WithEventTypes).
var EventTypes = []string{order.TypePlaced, order.TypeCancelled, schema.TypeStockReserved}

// Handler is the service's consumer.Handler. It is safe for concurrent
// use.
type Handler struct {
	codec *event.Codec
	now   func() time.Time
}

var _ consumer.Handler = (*Handler)(nil)

// NewHandler returns the handler; codec encodes outgoing events, now
// stamps them (nil: time.Now).
func NewHandler(codec *event.Codec, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	return &Handler{codec: codec, now: now}
}

// record returns the order id of env and a function recording its fact,
// or ok false for events the service ignores.
func record(env event.Envelope) (orderID string, fn func(*Order), ok bool, err error) {
	this := Fact{EventID: env.EventID, CorrelationID: env.Metadata.CorrelationID}
	switch env.EventType {
	case order.TypePlaced:
		e, err := order.DecodeEvent(env)
		if err != nil {
			return "", nil, false, err
		}
		p := e.(order.Placed)
		return p.OrderID, func(o *Order) {
			if o.Country == "" {
				o.UserID, o.Country = p.UserID, p.ShippingAddress.Country
			}
		}, true, nil
	case order.TypeCancelled:
		e, err := order.DecodeEvent(env)
		if err != nil {
			return "", nil, false, err
		}
		c := e.(order.Cancelled)
		return c.OrderID, func(o *Order) {
			if !o.Undo.Known() {
				o.Undo, o.UndoCause = this, schema.Cause(c.Reason)
			}
		}, true, nil
	case schema.TypeStockReserved:
		e, err := schema.Decode[schema.StockReserved](env)
		if err != nil {
			return "", nil, false, err
		}
		return e.OrderID, func(o *Order) {
			if !o.Reserved.Known() {
				o.Reserved = this
			}
			if o.UserID == "" {
				o.UserID = e.UserID
			}
		}, true, nil
	}
	return "", nil, false, nil
}

// Handle implements consumer.Handler: record the fact, then do what Next
// says.
func (h *Handler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	orderID, fn, ok, err := record(m.Envelope)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("shipping: %w", err))
	}
	if !ok {
		return nil
	}
	_, err = process(ctx, tx, h.codec, orderID, fn, h.now())
	return err
}

// process records a fact (fn) on the order and does what Next says: ship
// (shipment.created or shipment.failed), cancel the shipment
// (shipment.cancelled), or drop the order. It returns the new state.
func process(ctx context.Context, tx *sqldb.Tx, codec *event.Codec, orderID string, fn func(*Order), now time.Time) (Order, error) {
	o, err := loadOrder(ctx, tx, orderID, now)
	if err != nil {
		return Order{}, err
	}
	fn(&o)
	var (
		out   any
		cause Fact
	)
	switch Next(o) {
	case StepDrop:
		o.Status = StatusCancelled
	case StepShip:
		o, out = Ship(o, now)
		cause = o.Reserved
	case StepCancelShipment:
		o, out = CancelShipment(o, now)
		cause = o.Undo
	}
	if out != nil {
		md := event.Metadata{CorrelationID: cause.CorrelationID, CausationID: cause.EventID, Source: Source}
		if err := schema.Emit(ctx, tx, codec, md, o.OrderID, out); err != nil {
			return Order{}, err
		}
	}
	return o, saveOrder(ctx, tx, o, now)
}
