package ordersvc

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
)

// HeaderTraceparent is the W3C trace-context header on every record.
const HeaderTraceparent = "traceparent"

// outboxMessages is the order.OutboxFunc of the service: one record per
// event on topic "orders", keyed by userId (API.md), the envelope as JSON
// for value, CloudEvents ce_* headers and a traceparent.
func (s *Service) outboxMessages(o *order.Order, envs []event.Envelope) ([]outbox.Message, error) {
	msgs := make([]outbox.Message, 0, len(envs))
	for _, env := range envs {
		value, err := s.codec.Encode(env)
		if err != nil {
			return nil, fmt.Errorf("ordersvc: encode %s: %w", env.EventType, err)
		}
		ce := event.CloudEventsHeaders(env, o.ID)
		hs := make([]outbox.Header, 0, len(ce)+1)
		for _, h := range ce {
			hs = append(hs, outbox.Header(h))
		}
		hs = append(hs, outbox.Header{Key: HeaderTraceparent, Value: traceparent(env.Metadata.CorrelationID)})
		msgs = append(msgs, outbox.Message{Topic: kafka.TopicOrders, Key: o.UserID, Value: value, Headers: hs})
	}
	return msgs, nil
}

// traceparent returns a W3C traceparent, version 00, sampled. The trace id
// is the correlation id when that is a UUID (so every event of one flow is
// in one trace), else random; the span id is random.
// TODO: take the trace from the incoming request's context once
// OpenTelemetry is wired in.
func traceparent(correlationID string) string {
	trace := strings.ReplaceAll(correlationID, "-", "")
	if len(trace) != 32 || !isLowerHex(trace) || trace == strings.Repeat("0", 32) {
		trace = randomHex(16)
	}
	return "00-" + trace + "-" + randomHex(8) + "-01"
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// randomHex returns n random bytes in hex, never all zero (invalid in W3C
// trace context).
func randomHex(n int) string {
	b := make([]byte, n)
	for {
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		for _, c := range b {
			if c != 0 {
				return hex.EncodeToString(b)
			}
		}
	}
}
