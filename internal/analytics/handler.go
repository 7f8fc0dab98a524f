package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
)

// Group is the service's consumer group.
const Group = "analytics-service"

// Topics are the topics the service consumes.
var Topics = []string{kafka.TopicOrders, kafka.TopicPayments}

// EventTypes are the types of Topics the handler acts on; the consumer
// acknowledges the others without handing them over
// (consumer.WithEventTypes).
var EventTypes = []string{order.TypePlaced, order.TypePaid, order.TypeReserved, order.TypeShipped, order.TypeCancelled,
	schema.TypePaymentSucceeded, schema.TypePaymentRefunded}

// Handler is the service's consumer.Handler. It is safe for concurrent
// use.
type Handler struct {
	now func() time.Time
}

var _ consumer.Handler = (*Handler)(nil)

// NewHandler returns the handler; now stamps updated_at (nil: time.Now).
func NewHandler(now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	return &Handler{now: now}
}

// Handle implements consumer.Handler.
func (h *Handler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	env := m.Envelope
	// Every event moves a few shared aggregates (status counts, revenue per
	// minute, sales per product) in an order nobody controls: on
	// PostgreSQL, batch transactions of several lanes or instances would
	// deadlock on them. One lock per transaction serialises them.
	if err := tx.Lock(ctx, "analytics-aggregates"); err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	if next, ok := StatusOf(env.EventType); ok {
		e, err := order.DecodeEvent(env)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("analytics: %w", err))
		}
		return h.orderEvent(ctx, tx, e, next)
	}
	switch env.EventType {
	case schema.TypePaymentSucceeded:
		e, err := schema.Decode[schema.PaymentSucceeded](env)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("analytics: %w", err))
		}
		return addPayment(ctx, tx, e.OrderID, "capture", e.Currency, e.AmountMinor, orTime(e.SucceededAt, env.Timestamp))
	case schema.TypePaymentRefunded:
		e, err := schema.Decode[schema.PaymentRefunded](env)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("analytics: %w", err))
		}
		return addPayment(ctx, tx, e.OrderID, "refund", e.Currency, -e.AmountMinor, orTime(e.RefundedAt, env.Timestamp))
	}
	return nil
}

func orTime(t, fallback time.Time) time.Time {
	if t.IsZero() {
		return fallback
	}
	return t
}

func orderID(e order.Event) string {
	switch e := e.(type) {
	case order.Placed:
		return e.OrderID
	case order.Paid:
		return e.OrderID
	case order.Reserved:
		return e.OrderID
	case order.Shipped:
		return e.OrderID
	case order.Cancelled:
		return e.OrderID
	}
	return ""
}

// orderEvent moves the order to next when Advance allows it, moving the
// counts, and counts a shipped order's sales.
func (h *Handler) orderEvent(ctx context.Context, tx *sqldb.Tx, e order.Event, next Status) error {
	id := orderID(e)
	now := h.now()
	row, err := loadOrder(ctx, tx, id)
	if err != nil {
		return err
	}
	if p, ok := e.(order.Placed); ok && row.Currency == "" {
		row.Currency = p.Currency
		for _, it := range p.Items {
			row.Lines = append(row.Lines, Line{ProductID: it.ProductID, Quantity: it.Quantity, UnitPriceMinor: it.UnitPriceMinor})
		}
	}
	prev := row.Status
	if Advance(prev, next) {
		row.Status = next
		moveCount(tx, prev, next)
		if next == StatusShipped {
			addSales(tx, Sales(row.Lines, row.Currency))
		}
	}
	return saveOrder(ctx, tx, row, now)
}
