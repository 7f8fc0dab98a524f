package consumer

import (
	"context"
	"fmt"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/tracing"
)

// tracerName is the instrumentation scope of the runner's spans.
const tracerName = "github.com/causeway-dev/causeway/consumer"

// traceHandler starts a consumer span around each call of the handler:
// "process TOPIC", a child of the record's traceparent header (the
// producer's span), with the messaging attributes of the record and the
// event. The handler gets the span's context, so what it writes to an
// outbox carries it on. The runner installs it inside Dedup (a duplicate
// skipped by the dedup check has no span) and inside Recover; a panic is
// recorded on the span and goes on to Recover.
func traceHandler(tr trace.Tracer, group string) Middleware {
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *Message) (err error) {
			tp, _ := Header(m.Headers, tracing.HeaderTraceparent)
			ctx = tracing.ContextFromHeader(ctx, tp)
			ctx, span := tr.Start(ctx, "process "+m.Topic,
				trace.WithSpanKind(trace.SpanKindConsumer),
				trace.WithAttributes(
					semconv.MessagingSystemKafka,
					semconv.MessagingOperationTypeProcess,
					semconv.MessagingOperationName("process"),
					semconv.MessagingConsumerGroupName(group),
					semconv.MessagingDestinationName(m.Topic),
					semconv.MessagingDestinationPartitionID(strconv.Itoa(int(m.Partition))),
					semconv.MessagingKafkaOffset(int(m.Offset)),
					semconv.MessagingKafkaMessageKey(m.Key),
					semconv.MessagingMessageID(m.Envelope.EventID),
					semconv.MessagingMessageConversationID(m.Envelope.Metadata.CorrelationID),
					attribute.String("causeway.event.type", m.Envelope.EventType),
					attribute.Int("causeway.attempt", m.Attempt),
				))
			defer func() {
				if p := recover(); p != nil {
					span.SetStatus(codes.Error, fmt.Sprint("panic: ", p))
					span.End()
					panic(p)
				}
				if err != nil {
					span.RecordError(err)
					span.SetStatus(codes.Error, err.Error())
				}
				span.End()
			}()
			return next.Handle(ctx, tx, m)
		})
	}
}
