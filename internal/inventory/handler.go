package inventory

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
	Source = "inventory-service"
	Group  = "inventory-service"
)

// Topics are the topics the service consumes.
var Topics = []string{kafka.TopicOrders, kafka.TopicPayments, kafka.TopicShipping}

// EventTypes are the types of Topics the handler acts on; the consumer
// acknowledges the others without handing them over
// (consumer.WithEventTypes).
var EventTypes = []string{order.TypePlaced, order.TypeCancelled, schema.TypePaymentSucceeded, schema.TypeShipmentFailed}

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

// fact is the part of an event the service records.
type fact struct {
	orderID string
	record  func(o *Order)
}

func factOf(env event.Envelope) (fact, bool, error) {
	this := Fact{EventID: env.EventID, CorrelationID: env.Metadata.CorrelationID}
	switch env.EventType {
	case order.TypePlaced:
		e, err := order.DecodeEvent(env)
		if err != nil {
			return fact{}, false, err
		}
		p := e.(order.Placed)
		return fact{p.OrderID, func(o *Order) {
			if o.Items == nil {
				o.UserID = p.UserID
				o.Items = make([]schema.Line, len(p.Items))
				for i, it := range p.Items {
					o.Items[i] = schema.Line{ProductID: it.ProductID, Quantity: it.Quantity}
				}
			}
		}}, true, nil
	case order.TypeCancelled:
		e, err := order.DecodeEvent(env)
		if err != nil {
			return fact{}, false, err
		}
		c := e.(order.Cancelled)
		return fact{c.OrderID, func(o *Order) {
			if !o.Undo.Known() {
				o.Undo, o.UndoCause = this, schema.Cause(c.Reason)
			}
		}}, true, nil
	case schema.TypePaymentSucceeded:
		e, err := schema.Decode[schema.PaymentSucceeded](env)
		if err != nil {
			return fact{}, false, err
		}
		return fact{e.OrderID, func(o *Order) {
			if !o.Paid.Known() {
				o.Paid = this
			}
			if o.UserID == "" {
				o.UserID = e.UserID
			}
		}}, true, nil
	case schema.TypeShipmentFailed:
		e, err := schema.Decode[schema.ShipmentFailed](env)
		if err != nil {
			return fact{}, false, err
		}
		return fact{e.OrderID, func(o *Order) {
			if !o.Undo.Known() {
				o.Undo, o.UndoCause = this, schema.CauseShippingFailed
			}
		}}, true, nil
	}
	return fact{}, false, nil
}

// Handle implements consumer.Handler: record the fact, then do what Next
// says.
func (h *Handler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	f, ok, err := factOf(m.Envelope)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("inventory: %w", err))
	}
	if !ok {
		return nil
	}
	_, err = process(ctx, tx, h.codec, f, h.now())
	return err
}

// process records f on its order and does what Next says: reserve (and
// publish stock.reserved or stock.reservation-failed), release (and publish
// stock.released), or mark the order cancelled. It returns the order's new
// state.
func process(ctx context.Context, tx *sqldb.Tx, codec *event.Codec, f fact, now time.Time) (Order, error) {
	if err := lockStock(ctx, tx); err != nil {
		return Order{}, err
	}
	o, err := loadOrder(ctx, tx, f.orderID, now)
	if err != nil {
		return Order{}, err
	}
	f.record(&o)
	switch Next(o) {
	case StepCancel:
		o.Status = StatusCancelled
	case StepReserve:
		lines := Merge(o.Items)
		avail, err := available(ctx, tx, lines)
		if err != nil {
			return Order{}, err
		}
		md := event.Metadata{CorrelationID: o.Paid.CorrelationID, CausationID: o.Paid.EventID, Source: Source}
		if ok, missing := Plan(lines, avail); ok {
			if err := move(ctx, tx, lines, +1); err != nil {
				return Order{}, err
			}
			o.Status = StatusReserved
			err = schema.Emit(ctx, tx, codec, md, o.OrderID, Reserved(o, now))
		} else {
			o.Status = StatusFailed
			err = schema.Emit(ctx, tx, codec, md, o.OrderID, ReservationFailed(o, missing, now))
		}
		if err != nil {
			return Order{}, err
		}
	case StepRelease:
		if err := move(ctx, tx, Merge(o.Items), -1); err != nil {
			return Order{}, err
		}
		o.Status = StatusReleased
		md := event.Metadata{CorrelationID: o.Undo.CorrelationID, CausationID: o.Undo.EventID, Source: Source}
		if err := schema.Emit(ctx, tx, codec, md, o.OrderID, Released(o, now)); err != nil {
			return Order{}, err
		}
	}
	return o, saveOrder(ctx, tx, o, now)
}
