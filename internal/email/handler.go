package email

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
)

// Group is the service's consumer group.
const Group = "email-service"

// Topics are the topics the service consumes.
var Topics = []string{kafka.TopicOrders}

// EventTypes are the types of Topics the handler acts on; the consumer
// acknowledges the others without handing them over
// (consumer.WithEventTypes).
var EventTypes = []string{order.TypePlaced, order.TypeShipped, order.TypeCancelled}

// NotifyChannel is the sqldb notification the handler signals when a
// committed transaction queued a mail for sending (wakes the Sender).
const NotifyChannel = "email-unsent"

// Opt configures a Handler.
type Opt interface{ apply(*Handler) }

type optFunc func(*Handler)

func (f optFunc) apply(h *Handler) { f(h) }

// WithSending makes the handler queue every new mail for SMTP delivery
// (email_unsent), for a Sender to deliver. Off by default: mails are only
// stored.
func WithSending(on bool) Opt { return optFunc(func(h *Handler) { h.sending = on }) }

// WithClock sets the clock stamping createdAt (default time.Now).
func WithClock(now func() time.Time) Opt { return optFunc(func(h *Handler) { h.now = now }) }

// Handler is the service's consumer.Handler. It is safe for concurrent
// use.
type Handler struct {
	render  *Renderer
	now     func() time.Time
	sending bool
}

var _ consumer.Handler = (*Handler)(nil)

// NewHandler returns the handler, with the embedded templates parsed.
func NewHandler(opts ...Opt) (*Handler, error) {
	r, err := NewRenderer()
	if err != nil {
		return nil, err
	}
	h := &Handler{render: r, now: time.Now}
	for _, o := range opts {
		o.apply(h)
	}
	return h, nil
}

// Handle implements consumer.Handler: store order.placed's details, then
// render and store the mail of the step, once per order and kind.
func (h *Handler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	switch m.Envelope.EventType {
	case order.TypePlaced, order.TypeShipped, order.TypeCancelled:
	default:
		return nil
	}
	e, err := order.DecodeEvent(m.Envelope)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("email: %w", err))
	}
	orderID, step, ok := StepOf(e)
	if !ok {
		return nil
	}
	var o Order
	if p, isPlaced := e.(order.Placed); isPlaced {
		o = OrderFromPlaced(p)
		if err := saveOrder(ctx, tx, o); err != nil {
			return err
		}
	} else if o, err = loadOrder(ctx, tx, orderID); err != nil {
		return err
	}
	if o.UserID == "" {
		o.UserID = m.Key // topic orders is keyed by userId
	}
	r, err := h.render.Render(o, step)
	if err != nil {
		return consumer.Permanent(err)
	}
	msg := Message{
		ID: MessageID(orderID, step.Kind), OrderID: orderID, UserID: o.UserID, To: Address(o.UserID),
		Subject: r.Subject, TextBody: r.Text, HTMLBody: r.HTML, Kind: step.Kind, CreatedAt: h.now().UTC(),
		CorrelationID: m.Envelope.Metadata.CorrelationID, CausationID: m.Envelope.EventID, SendStatus: SendNone,
	}
	if h.sending {
		msg.SendStatus = SendPending
	}
	added, err := insertMessage(ctx, tx, msg)
	if err != nil {
		return err
	}
	if added && h.sending {
		db := tx.DB()
		tx.OnCommit(func() { db.Notify(NotifyChannel) })
	}
	return nil
}
