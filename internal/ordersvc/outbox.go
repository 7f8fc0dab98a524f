package ordersvc

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
)

// outboxMessages is the order.OutboxFunc of the service: one record per
// event on topic "orders", keyed by userId (API.md), the envelope as JSON
// for value, CloudEvents ce_* headers and a traceparent
// (schema.TraceparentHeader: the span of ctx when tracing, the HTTP
// request's or the saga handler's).
func (s *Service) outboxMessages(ctx context.Context, o *order.Order, envs []event.Envelope) ([]outbox.Message, error) {
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
		hs = append(hs, schema.TraceparentHeader(ctx, env.Metadata.CorrelationID))
		msgs = append(msgs, outbox.Message{Topic: kafka.TopicOrders, Key: o.UserID, Value: value, Headers: hs})
	}
	return msgs, nil
}
