package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// CommandTopics are the topics the service consumes in orchestration mode
// (same group, Group), instead of Topics.
var CommandTopics = []string{kafka.TopicCommandsPayment}

// ReasonCompensated is the fail reason of the payment row a refund leaves
// for an order that was never charged: it makes a late payment.process a
// no-op (answered "failed" with this reason).
const ReasonCompensated = "compensated_before_charge"

// PaymentResult is the result of a succeeded payment.process reply.
type PaymentResult struct {
	PaymentID string `json:"paymentId"`
}

// CommandHandler is the service's participant in the orchestrated saga: it
// handles payment.process and payment.refund with the same decisions and
// ledger as Handler, publishes the same events (payment.succeeded,
// payment.failed, payment.refunded on "payments"), and answers every
// command with a saga reply, all in the consumer's transaction. It is safe
// for concurrent use.
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

// Handle implements consumer.Handler. A charge is made at most once per
// order whatever the command id (a resent command after a timeout finds
// the payment and answers from it); a transient gateway failure
// (card_flaky) is returned for the consumer to retry; a refund refunds at
// most once and answers succeeded also when there was nothing to refund.
func (h *CommandHandler) Handle(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	env := m.Envelope
	now := h.now()
	switch env.EventType {
	case schema.TypePaymentProcess:
		c, err := schema.DecodeCommand[schema.ProcessPayment](env, schema.TypePaymentProcess)
		if err != nil {
			return consumer.Permanent(err)
		}
		panicTrigger(c.OrderID)
		cur, err := load(ctx, tx, c.OrderID)
		if err != nil {
			return err
		}
		p := order.Placed{OrderID: c.OrderID, UserID: c.UserID, TotalMinor: c.AmountMinor, Currency: c.Currency, PaymentMethod: c.Method}
		d, err := DecideCharge(cur, p, m.Attempt, now)
		if err != nil {
			return err
		}
		if err := apply(ctx, tx, h.codec, env, d, now); err != nil {
			return err
		}
		if d.Payment != nil {
			cur = d.Payment
		}
		outcome, reason, result := saga.OutcomeFailed, cur.FailReason, any(nil)
		switch cur.Status {
		case StatusCaptured:
			outcome, result = saga.OutcomeSucceeded, PaymentResult{PaymentID: cur.PaymentID}
		case StatusRefunded:
			reason = "refunded"
		}
		return h.reply(ctx, tx, m, outcome, reason, result)
	case schema.TypePaymentRefund:
		c, err := schema.DecodeCommand[schema.RefundPayment](env, schema.TypePaymentRefund)
		if err != nil {
			return consumer.Permanent(err)
		}
		cur, err := load(ctx, tx, c.OrderID)
		if err != nil {
			return err
		}
		if cur == nil {
			// Never charged: nothing to give back, and a late
			// payment.process must not charge.
			tomb := &Payment{OrderID: c.OrderID, UserID: c.UserID, PaymentID: PaymentID(c.OrderID),
				Status: StatusFailed, FailReason: ReasonCompensated}
			if err := save(ctx, tx, tomb, env.EventID, now); err != nil {
				return err
			}
		} else if err := apply(ctx, tx, h.codec, env, DecideRefund(cur, c.Cause, now), now); err != nil {
			return err
		}
		return h.reply(ctx, tx, m, saga.OutcomeSucceeded, "", nil)
	}
	return nil
}

func (h *CommandHandler) reply(ctx context.Context, tx *sqldb.Tx, m *consumer.Message, outcome saga.Outcome, reason string, result any) error {
	if err := schema.Reply(ctx, tx, m.Envelope, m.Key, Source, outcome, reason, result); err != nil {
		return fmt.Errorf("payment: %w", err)
	}
	return nil
}
