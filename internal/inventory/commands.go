package inventory

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
var CommandTopics = []string{kafka.TopicCommandsInventory}

// ReservationResult is the result of a succeeded inventory.reserve reply.
type ReservationResult struct {
	ReservationID string `json:"reservationId"`
}

// CommandHandler is the service's participant in the orchestrated saga: it
// handles inventory.reserve and inventory.release through the same state
// machine (Next) and stock as Handler — a reserve is the order's items
// plus the go-ahead that payment.succeeded gives in choreography, a
// release is the undo request — publishes the same events, and answers
// every command with a saga reply in the consumer's transaction. It is
// safe for concurrent use.
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

// Handle implements consumer.Handler. Items are reserved at most once per
// order and released at most once; a release of an order never reserved
// answers succeeded and makes a later reserve a no-op (answered failed).
func (h *CommandHandler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	env := m.Envelope
	this := Fact{EventID: env.EventID, CorrelationID: env.Metadata.CorrelationID}
	var f fact
	switch env.EventType {
	case schema.TypeInventoryReserve:
		c, err := schema.DecodeCommand[schema.ReserveStock](env, schema.TypeInventoryReserve)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("inventory: %w", err))
		}
		f = fact{c.OrderID, func(o *Order) {
			if o.Items == nil {
				o.UserID = c.UserID
				o.Items = append([]schema.Line{}, c.Items...)
			}
			if !o.Paid.Known() {
				o.Paid = this
			}
		}}
	case schema.TypeInventoryRelease:
		c, err := schema.DecodeCommand[schema.ReleaseStock](env, schema.TypeInventoryRelease)
		if err != nil {
			return consumer.Permanent(fmt.Errorf("inventory: %w", err))
		}
		f = fact{c.OrderID, func(o *Order) {
			if o.UserID == "" {
				o.UserID = c.UserID
			}
			if !o.Undo.Known() {
				o.Undo, o.UndoCause = this, c.Cause
			}
		}}
	default:
		return nil
	}
	o, err := process(ctx, tx, h.codec, f, h.now())
	if err != nil {
		return err
	}
	outcome, reason, result := saga.OutcomeSucceeded, "", any(nil)
	if env.EventType == schema.TypeInventoryReserve {
		switch o.Status {
		case StatusReserved:
			result = ReservationResult{ReservationID: ReservationID(o.OrderID)}
		case StatusFailed:
			outcome, reason = saga.OutcomeFailed, schema.ReasonOutOfStock
		default: // released or cancelled: a late reserve after its release
			outcome, reason = saga.OutcomeFailed, "compensated"
		}
	}
	if err := schema.Reply(ctx, tx, env, m.Key, Source, outcome, reason, result); err != nil {
		return fmt.Errorf("inventory: %w", err)
	}
	return nil
}
