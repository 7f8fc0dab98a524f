package saga

import (
	"encoding/json"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/outbox"
)

// ReplyType is the event type of replies built by NewReply. Register it
// (version 1) in the codec of the runner that consumes the reply topic;
// RegisterTypes does. HandleReply itself accepts any event type whose data
// has the Reply shape.
const ReplyType = "saga.reply"

// Record headers the orchestrator adds to every command, besides the
// CloudEvents ce_* headers. Participants may log them; correlation does not
// depend on them.
const (
	HeaderSagaID = "causeway-saga-id"
	HeaderStep   = "causeway-saga-step"
	HeaderPhase  = "causeway-saga-phase"
)

// Outcome is what a participant reports about a command.
type Outcome string

// The outcomes of a command.
const (
	// OutcomeSucceeded: the command took effect (or had already).
	OutcomeSucceeded Outcome = "succeeded"
	// OutcomeFailed: the command was refused for a business reason and
	// took no effect (card declined, out of stock).
	OutcomeFailed Outcome = "failed"
)

// Reply is the data of a reply event:
//
//	{"outcome": "succeeded"|"failed", "reason": "...", "command": "payment.process", "result": {...}}
//
// Only outcome is required.
type Reply struct {
	Outcome Outcome         `json:"outcome"`
	Reason  string          `json:"reason,omitempty"`
	Command string          `json:"command,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
}

// ParseReply reads the Reply out of a reply envelope. Errors wrap
// ErrBadReply.
func ParseReply(e event.Envelope) (Reply, error) {
	var r Reply
	if err := json.Unmarshal(e.Data, &r); err != nil {
		return Reply{}, fmt.Errorf("%w: event %s: %w", ErrBadReply, e.EventID, err)
	}
	if r.Outcome != OutcomeSucceeded && r.Outcome != OutcomeFailed {
		return Reply{}, fmt.Errorf("%w: event %s: outcome %q, want %q or %q",
			ErrBadReply, e.EventID, r.Outcome, OutcomeSucceeded, OutcomeFailed)
	}
	return r, nil
}

// UnmarshalResult decodes the reply's result into v.
func (r Reply) UnmarshalResult(v any) error {
	if len(r.Result) == 0 {
		return fmt.Errorf("%w: no result", ErrBadReply)
	}
	if err := json.Unmarshal(r.Result, v); err != nil {
		return fmt.Errorf("%w: result: %w", ErrBadReply, err)
	}
	return nil
}

// NewReply builds the reply a participant sends for command cmd: type
// ReplyType v1, the command's correlationId, causationId = cmd.EventID
// (the command id — this is what correlates the reply to its saga), source,
// and data {outcome, reason, command, result}. result may be nil.
func NewReply(cmd event.Envelope, source string, outcome Outcome, reason string, result any) (event.Envelope, error) {
	r := Reply{Outcome: outcome, Reason: reason, Command: cmd.EventType}
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return event.Envelope{}, fmt.Errorf("saga: reply result: %w", err)
		}
		r.Result = b
	}
	return event.New(ReplyType, 1, r, event.CausedBy(cmd, source))
}

// ReplyMessage returns the outbox message that publishes reply on topic
// (normally kafka.TopicSagaReplies) with key (use the command record's
// key, so one saga's replies stay in order), with CloudEvents headers.
func ReplyMessage(topic, key string, reply event.Envelope) (outbox.Message, error) {
	return envelopeMessage(topic, key, reply, nil)
}

// RegisterTypes registers ReplyType (version 1) in reg.
func RegisterTypes(reg *event.Registry) error {
	return reg.Register(ReplyType, 1)
}

func envelopeMessage(topic, key string, e event.Envelope, extra []outbox.Header) (outbox.Message, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("saga: encode %s: %w", e.EventType, err)
	}
	ce := event.CloudEventsHeaders(e, key)
	hs := make([]outbox.Header, 0, len(ce)+len(extra))
	for _, h := range ce {
		hs = append(hs, outbox.Header(h))
	}
	hs = append(hs, extra...)
	return outbox.Message{Topic: topic, Key: key, Value: b, Headers: hs}, nil
}
