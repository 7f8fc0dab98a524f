package ordersvc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
)

// SagaGroup is the consumer group of the order service's saga consumer;
// SagaTopics are the topics it follows.
const SagaGroup = "order-service"

// SagaTopics are the topics the order service follows to move an order's
// status (choreography).
var SagaTopics = []string{kafka.TopicPayments, kafka.TopicInventory, kafka.TopicShipping}

// SagaEventTypes are the types of SagaTopics the saga handler acts on
// (SagaCommand); the consumer acknowledges the others without handing
// them over (consumer.WithEventTypes).
var SagaEventTypes = []string{schema.TypePaymentSucceeded, schema.TypePaymentFailed, schema.TypePaymentRefunded,
	schema.TypeStockReserved, schema.TypeShipmentCreated}

// ErrNotYet: a saga event arrived before the event of the step it follows
// (they travel on different topics, e.g. stock.reserved before
// payment.succeeded was handled). It is retryable: the consumer runtime
// retries the event, and by then the earlier one has usually been handled.
var ErrNotYet = errors.New("ordersvc: saga event arrived before the step it follows")

// Command is a change of an order asked for by a saga event.
type Command func(o *order.Order, at time.Time) ([]order.Event, error)

// SagaCommand maps a saga event to the order it concerns and the command
// it asks for. ok is false for events that change no order (stock.released,
// shipment.cancelled, stock.reservation-failed and shipment.failed, whose
// cancellation follows from the refund, and a refund for the customer's
// own cancellation). The cancellation reason of a compensated order comes
// from payment.refunded's cause: the refund is the last step of every
// compensation chain, so the order is cancelled once the money is back.
func SagaCommand(env event.Envelope) (orderID string, cmd Command, ok bool, err error) {
	cancel := func(r order.Reason) Command {
		return func(o *order.Order, at time.Time) ([]order.Event, error) { return o.Cancel(r, at) }
	}
	switch env.EventType {
	case schema.TypePaymentSucceeded:
		e, err := schema.Decode[schema.PaymentSucceeded](env)
		return e.OrderID, func(o *order.Order, at time.Time) ([]order.Event, error) {
			return o.MarkPaid(e.PaymentID, at)
		}, err == nil, err
	case schema.TypePaymentFailed:
		e, err := schema.Decode[schema.PaymentFailed](env)
		return e.OrderID, cancel(order.ReasonPaymentFailed), err == nil, err
	case schema.TypePaymentRefunded:
		e, err := schema.Decode[schema.PaymentRefunded](env)
		if err != nil || e.Cause == schema.CauseCustomerCancelled {
			return e.OrderID, nil, false, err
		}
		if !e.Cause.Valid() {
			return e.OrderID, nil, false, fmt.Errorf("ordersvc: payment.refunded: unknown cause %.40q", e.Cause)
		}
		// The refund ends a compensation that started after a step the
		// order service may not have handled yet (another topic): an
		// out-of-stock refund follows payment.succeeded, a shipping-failed
		// one stock.reserved. Waiting for it keeps every order's stream in
		// saga order (placed, paid, reserved, cancelled).
		after := order.StatusPaid
		if e.Cause == schema.CauseShippingFailed {
			after = order.StatusReserved
		}
		reason := order.Reason(e.Cause)
		return e.OrderID, func(o *order.Order, at time.Time) ([]order.Event, error) {
			if !o.Status.Terminal() && !reached(o.Status, after) {
				return nil, &order.TransitionError{From: o.Status, Command: "cancel", Reason: reason}
			}
			return o.Cancel(reason, at)
		}, true, nil
	case schema.TypeStockReserved:
		e, err := schema.Decode[schema.StockReserved](env)
		return e.OrderID, func(o *order.Order, at time.Time) ([]order.Event, error) {
			return o.MarkReserved(e.ReservationID, at)
		}, err == nil, err
	case schema.TypeShipmentCreated:
		e, err := schema.Decode[schema.ShipmentCreated](env)
		return e.OrderID, func(o *order.Order, at time.Time) ([]order.Event, error) {
			return o.MarkShipped(e.Carrier, e.TrackingNumber, at)
		}, err == nil, err
	}
	return "", nil, false, nil
}

// reached reports whether an order in status s has gone through step
// (placed < paid < reserved < shipped).
func reached(s, step order.Status) bool {
	rank := map[order.Status]int{order.StatusPlaced: 1, order.StatusPaid: 2, order.StatusReserved: 3, order.StatusShipped: 4}
	return rank[s] >= rank[step]
}

// Judge classifies the error of a saga command on o: an illegal transition
// on a terminal order is a stale event (nil: nothing to do — a late
// payment.succeeded for an order the customer cancelled, say); on an order
// still in progress it is ErrNotYet (retry); anything else is returned as
// it is.
func Judge(o *order.Order, err error) error {
	if err == nil || !errors.Is(err, order.ErrIllegalTransition) {
		return err
	}
	if o.Status.Terminal() {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrNotYet, err)
}

// SagaHandler returns the consumer.Handler of the order service's saga
// consumer (group SagaGroup, topics SagaTopics). It changes orders through
// the repository inside the consumer's transaction, so the new events, their
// outbox rows (topic orders, key userId) and the processed-event row commit
// together. An event that arrived before the step it follows is kept and
// applied once that step is handled (early.go), instead of failing and
// being retried.
func (s *Service) SagaHandler() consumer.Handler {
	return consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		orderID, changed, err := s.sagaEvent(ctx, tx, m.Envelope)
		switch {
		case errors.Is(err, ErrNotYet):
			return s.holdEarly(ctx, tx, orderID, m.Envelope)
		case err != nil:
			return err
		case changed && s.early.has(orderID):
			_, err := s.releaseEarly(ctx, tx, orderID)
			return err
		}
		return nil
	})
}

// sagaStore reads and appends inside the consumer's transaction, so that
// several events of one order in one batch see each other. It ignores
// snapshots (orders are short streams; the fold from the start is always
// right) and never saves one.
type sagaStore struct{ txStore }

func (s sagaStore) Load(ctx context.Context, streamID string, afterVersion int64) ([]eventstore.Record, error) {
	return s.LoadTx(ctx, s.tx, streamID, afterVersion)
}

func (s sagaStore) LoadSnapshot(context.Context, string) (eventstore.Snapshot, error) {
	return eventstore.Snapshot{}, errSagaNoSnapshot
}

// errSagaNoSnapshot is what sagaStore.LoadSnapshot returns on every saga
// step; made once, not formatted per call (the repository only tests it
// with errors.Is).
var errSagaNoSnapshot = fmt.Errorf("%w (snapshots are not read in a saga transaction)", eventstore.ErrNoSnapshot)

func (s sagaStore) SaveSnapshot(context.Context, eventstore.Snapshot) error { return nil }
