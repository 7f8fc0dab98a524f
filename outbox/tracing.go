package outbox

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/tracing"
)

// tracerName is the instrumentation scope of the relay's spans.
const tracerName = "github.com/causeway-dev/causeway/outbox"

// WithTracerProvider makes the relay start a producer span for each row it
// produces ("send TOPIC"), a child of the span context stored in the row's
// traceparent header (the span that wrote the row: an HTTP request, a
// consumer handler), and replace that header on the record with the
// producer span's own context, so the consumers' spans are its children.
// The span ends at the broker's acknowledgement (with an error status when
// the produce failed; the retry of the row is a new span). nil or a noop
// provider, the default, turns tracing off: rows are produced with their
// stored headers, untouched.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracer = tp })
}

// startSend starts the producer span of row m, produced as rec, and points
// rec's traceparent header at it.
func startSend(tr trace.Tracer, m *Message, rec *kgo.Record) trace.Span {
	ctx := context.Background()
	tp := -1
	for i, h := range m.Headers {
		if h.Key == tracing.HeaderTraceparent {
			ctx = tracing.ContextFromHeader(ctx, h.Value)
			tp = i
		}
	}
	ctx, span := tr.Start(ctx, "send "+m.Topic,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("send"),
			semconv.MessagingDestinationName(m.Topic),
			semconv.MessagingKafkaMessageKey(m.Key),
			attribute.Int64("causeway.outbox.row_id", m.ID),
		))
	if v, ok := tracing.Traceparent(ctx); ok {
		if tp >= 0 {
			rec.Headers[tp].Value = []byte(v)
		} else {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: tracing.HeaderTraceparent, Value: []byte(v)})
		}
	}
	return span
}

// endSend ends a producer span at the broker's answer to rec.
func endSend(span trace.Span, rec *kgo.Record, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	} else {
		span.SetAttributes(
			semconv.MessagingDestinationPartitionID(strconv.Itoa(int(rec.Partition))),
			semconv.MessagingKafkaOffset(int(rec.Offset)))
	}
	span.End()
}
