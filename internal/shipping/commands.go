package shipping

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// CommandTopics are the topics the service consumes in orchestration mode
// (same group, Group), instead of Topics.
var CommandTopics = []string{kafka.TopicCommandsShipping}

// ShipmentResult is the result of a succeeded shipping.create reply.
type ShipmentResult struct {
	ShipmentID     string `json:"shipmentId"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"trackingNumber"`
}

// CommandHandler is the service's participant in the orchestrated saga: it
// handles shipping.create and shipping.cancel through the same state
// machine (Next) as Handler — a create is the address plus the go-ahead
// that stock.reserved gives in choreography, a cancel is the undo request
// — publishes the same events, and answers every command with a saga
// reply in the consumer's transaction. It is safe for concurrent use.
type CommandHandler struct {
	codec *event.Codec
	now   func() time.Time
}

var _ consumer.Handler = (*CommandHandler)(nil)

// NewCommandHandler returns the command handler; codec encodes outgoing
// events, now stamps them (nil: time.Now).
func NewCommandHandler(codec *event.Codec, now func() time.Time) *CommandHandler {
	if now == nil {
		now = time.Now
	}
	return &CommandHandler{codec: codec, now: now}
}

// Handle implements consumer.Handler. An order is shipped at most once and
// its shipment cancelled at most once; a cancel of an order never shipped
// answers succeeded and makes a later create a no-op (answered failed).
func (h *CommandHandler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	env := m.Envelope
	this := Fact{EventID: env.EventID, CorrelationID: env.Metadata.CorrelationID}
	var (
		orderID string
		fn      func(*Order)
	)
	switch env.EventType {
	case schema.TypeShippingCreate:
		c, err := schema.DecodeCommand[schema.CreateShipment](env, schema.TypeShippingCreate)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("shipping: %w", err))
		}
		orderID, fn = c.OrderID, func(o *Order) {
			if o.Country == "" {
				o.UserID, o.Country = c.UserID, c.Address.Country
			}
			if !o.Reserved.Known() {
				o.Reserved = this
			}
		}
	case schema.TypeShippingCancel:
		c, err := schema.DecodeCommand[schema.CancelShipment](env, schema.TypeShippingCancel)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("shipping: %w", err))
		}
		orderID, fn = c.OrderID, func(o *Order) {
			if o.UserID == "" {
				o.UserID = c.UserID
			}
			if !o.Undo.Known() {
				o.Undo, o.UndoCause = this, c.Cause
			}
		}
	default:
		return nil
	}
	o, err := process(ctx, tx, h.codec, orderID, fn, h.now())
	if err != nil {
		return err
	}
	outcome, reason, result := saga.OutcomeSucceeded, "", any(nil)
	if env.EventType == schema.TypeShippingCreate {
		switch o.Status {
		case StatusCreated:
			result = ShipmentResult{ShipmentID: o.ShipmentID, Carrier: o.Carrier, TrackingNumber: o.TrackingNumber}
		case StatusFailed:
			outcome, reason = saga.OutcomeFailed, schema.ReasonUnsupportedCountry
		default: // cancelled: a late create after its cancel
			outcome, reason = saga.OutcomeFailed, "compensated"
		}
	}
	if err := schema.Reply(ctx, tx, env, m.Key, Source, outcome, reason, result); err != nil {
		return fmt.Errorf("shipping: %w", err)
	}
	return nil
}
