package schema

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
)

// Emit writes data (one of this package's structs) as an event with md to
// the outbox inside tx, keyed by orderID: the only way services publish.
func Emit(ctx context.Context, tx *sqldb.Tx, codec *event.Codec, md event.Metadata, orderID string, data any) error {
	env, err := New(data, md)
	if err != nil {
		return err
	}
	msg, err := Message(codec, env, orderID)
	if err != nil {
		return err
	}
	if err := outbox.Enqueue(ctx, tx, msg); err != nil {
		return fmt.Errorf("schema: emit %s: %w", env.EventType, err)
	}
	return nil
}

// Message builds the outbox message of env (an event of this package) on
// its topic, keyed by orderId: the envelope as JSON for value and the
// CloudEvents ce_* headers, with the order id as subject, and a
// traceparent.
func Message(codec *event.Codec, env event.Envelope, orderID string) (outbox.Message, error) {
	topic, ok := TopicOf(env.EventType)
	if !ok {
		return outbox.Message{}, fmt.Errorf("%w: %s", ErrNotSchemaEvent, env.EventType)
	}
	value, err := codec.Encode(env)
	if err != nil {
		return outbox.Message{}, fmt.Errorf("schema: encode %s: %w", env.EventType, err)
	}
	ce := event.CloudEventsHeaders(env, orderID)
	hs := make([]outbox.Header, 0, len(ce)+1)
	for _, h := range ce {
		hs = append(hs, outbox.Header(h))
	}
	hs = append(hs, outbox.Header{Key: HeaderTraceparent, Value: Traceparent(env.Metadata.CorrelationID)})
	return outbox.Message{Topic: topic, Key: orderID, Value: value, Headers: hs}, nil
}

// HeaderTraceparent is the W3C trace-context header on every record.
const HeaderTraceparent = "traceparent"

// Traceparent returns a W3C traceparent, version 00, sampled, whose trace
// id is the correlation id when that is a UUID (so every event of one flow
// is in one trace), else random; the span id is random.
func Traceparent(correlationID string) string {
	trace := strings.ReplaceAll(correlationID, "-", "")
	if len(trace) != 32 || !isLowerHex(trace) || trace == strings.Repeat("0", 32) {
		trace = randomHex(16)
	}
	return "00-" + trace + "-" + randomHex(8) + "-01"
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// randomHex returns n random bytes in hex, never all zero.
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
