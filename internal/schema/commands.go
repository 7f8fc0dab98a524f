package schema

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// Command types of the orchestrated order saga (--saga=orchestration). The
// orchestrator sends them as event envelopes whose eventId is the command
// id, on the participant's command topic, keyed by orderId; the
// participant answers each with a saga.reply on kafka.TopicSagaReplies
// (causationId = the command's eventId, see package saga).
const (
	TypePaymentProcess   = "payment.process"
	TypePaymentRefund    = "payment.refund"
	TypeInventoryReserve = "inventory.reserve"
	TypeInventoryRelease = "inventory.release"
	TypeShippingCreate   = "shipping.create"
	TypeShippingCancel   = "shipping.cancel"
)

// CommandVersion is the schema version of every command (all at 1).
const CommandVersion = 1

// commands lists every command type with its topic.
var commands = []struct{ typ, topic string }{
	{TypePaymentProcess, kafka.TopicCommandsPayment},
	{TypePaymentRefund, kafka.TopicCommandsPayment},
	{TypeInventoryReserve, kafka.TopicCommandsInventory},
	{TypeInventoryRelease, kafka.TopicCommandsInventory},
	{TypeShippingCreate, kafka.TopicCommandsShipping},
	{TypeShippingCancel, kafka.TopicCommandsShipping},
}

// RegisterCommands registers the command types at CommandVersion.
func RegisterCommands(reg *event.Registry) error {
	for _, c := range commands {
		if err := reg.Register(c.typ, CommandVersion); err != nil {
			return fmt.Errorf("schema: register: %w", err)
		}
	}
	return nil
}

// CommandTopic returns the topic of command type typ, and false for a type
// that is not a command.
func CommandTopic(typ string) (string, bool) {
	for _, c := range commands {
		if c.typ == typ {
			return c.topic, true
		}
	}
	return "", false
}

// ProcessPayment is payment.process v1: charge the order's total once.
type ProcessPayment struct {
	OrderID     string `json:"orderId"`
	UserID      string `json:"userId"`
	AmountMinor int64  `json:"amountMinor"`
	Currency    string `json:"currency"`
	Method      string `json:"method"`
}

// RefundPayment is payment.refund v1: give a captured payment back, at most
// once, because of Cause. For an order never charged the participant
// answers succeeded and makes a later payment.process a no-op.
type RefundPayment struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Cause   Cause  `json:"cause"`
}

// ReserveStock is inventory.reserve v1: reserve every line, or none.
type ReserveStock struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Items   []Line `json:"items"`
}

// ReleaseStock is inventory.release v1: give a reservation back, once,
// because of Cause. For an order never reserved the participant answers
// succeeded and makes a later inventory.reserve a no-op.
type ReleaseStock struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Cause   Cause  `json:"cause"`
}

// CreateShipment is shipping.create v1: ship the order to Address.
type CreateShipment struct {
	OrderID string        `json:"orderId"`
	UserID  string        `json:"userId"`
	Address order.Address `json:"address"`
}

// CancelShipment is shipping.cancel v1: cancel a created shipment because
// of Cause. For an order never shipped the participant answers succeeded
// and makes a later shipping.create a no-op.
type CancelShipment struct {
	OrderID string `json:"orderId"`
	UserID  string `json:"userId"`
	Cause   Cause  `json:"cause"`
}

// DecodeCommand unmarshals the data of a command envelope into v after
// checking its type, and requires an orderId.
func DecodeCommand[T any](env event.Envelope, typ string) (T, error) {
	var v T
	if env.EventType != typ {
		return v, fmt.Errorf("schema: decode %s as %s", env.EventType, typ)
	}
	if err := env.UnmarshalData(&v); err != nil {
		return v, err
	}
	var id struct {
		OrderID string `json:"orderId"`
	}
	if err := env.UnmarshalData(&id); err != nil || id.OrderID == "" {
		return v, fmt.Errorf("schema: %s %s without orderId", typ, env.EventID)
	}
	return v, nil
}

// Reply writes the participant's answer to command cmd to the outbox in tx:
// a saga.reply (saga.NewReply: causationId = cmd's eventId) with outcome,
// reason and result, on kafka.TopicSagaReplies with key (the command
// record's key, so one saga's replies stay in order). Call it in the
// transaction of the command's effect.
func Reply(ctx context.Context, tx *sqldb.Tx, cmd event.Envelope, key, source string, outcome saga.Outcome, reason string, result any) error {
	reply, err := saga.NewReply(cmd, source, outcome, reason, result)
	if err != nil {
		return err
	}
	msg, err := saga.ReplyMessage(kafka.TopicSagaReplies, key, reply)
	if err != nil {
		return err
	}
	if err := outbox.Enqueue(ctx, tx, msg); err != nil {
		return fmt.Errorf("schema: reply to %s %s: %w", cmd.EventType, cmd.EventID, err)
	}
	return nil
}
