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
	"github.com/causeway-dev/causeway/tracing"
)

// Emit writes data (one of this package's structs) as an event with md to
// the outbox inside tx, keyed by orderID: the only way services publish.
func Emit(ctx context.Context, tx *sqldb.Tx, codec *event.Codec, md event.Metadata, orderID string, data any) error {
	env, err := New(data, md)
	if err != nil {
		return err
	}
	msg, err := Message(ctx, codec, env, orderID)
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
// traceparent (Traceparent of ctx).
func Message(ctx context.Context, codec *event.Codec, env event.Envelope, orderID string) (outbox.Message, error) {
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
	hs = append(hs, TraceparentHeader(ctx, env.Metadata.CorrelationID))
	return outbox.Message{Topic: topic, Key: orderID, Value: value, Headers: hs}, nil
}

// TraceparentHeader is the traceparent header of an outbox row written in
// ctx: the one place the platform's services set it (Message, and the
// order service's outbox). The relay, when tracing, replaces it on the
// record with its producer span's context, a child of this one.
func TraceparentHeader(ctx context.Context, correlationID string) outbox.Header {
	return outbox.Header{Key: tracing.HeaderTraceparent, Value: Traceparent(ctx, correlationID)}
}

// Traceparent returns a W3C traceparent, version 00. With tracing on it is
// the context of the span in ctx (the HTTP request's, or the consumer
// handler's that writes the row), so the flow is one trace across
// services. Without a span in ctx it is sampled, its trace id is the
// correlation id when that is a UUID (so every event of one flow is in one
// trace), else random, and its span id is random.
func Traceparent(ctx context.Context, correlationID string) string {
	if tp, ok := tracing.Traceparent(ctx); ok {
		return tp
	}
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
