package consumer_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
	"github.com/causeway-dev/causeway/tracing"
)

// A record with a traceparent header yields a consumer span that is that
// context's child, and the handler runs in the span's context; a record
// without one yields a root span; a failed attempt's span has an error
// status, and the retry has a span of its own.
func TestHandlerSpanIsChildOfTraceparent(t *testing.T) {
	const group, topic = "trace-test", "events"
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	addr := startBroker(t, 1, append(groupTopics(group), topic)...)
	db := sqltest.SQLite(t, consumer.Migrations(), testMigs)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	var mu sync.Mutex
	inHandler := map[string]trace.SpanContext{} // event id → the span context the handler saw
	failOnce := map[string]bool{"k-fail-0": true}
	h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		mu.Lock()
		inHandler[m.Envelope.EventID] = trace.SpanContextFromContext(ctx)
		fail := failOnce[m.Envelope.EventID]
		delete(failOnce, m.Envelope.EventID)
		mu.Unlock()
		if fail {
			return errors.New("transient")
		}
		return effectHandler(ctx, tx, m)
	})
	r, err := consumer.New(db, newCodec(t), group, []string{topic}, h,
		consumer.WithKafkaOpts(kafkaOpts(addr)...), consumer.WithTracerProvider(tp),
		consumer.WithBackoff(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	prod := newProducer(t, addr)
	produce(t, prod,
		&kgo.Record{Topic: topic, Key: []byte("k-traced"), Value: envelope(t, "k-traced-0", 0),
			Headers: []kgo.RecordHeader{{Key: tracing.HeaderTraceparent, Value: []byte(parent)}}},
		&kgo.Record{Topic: topic, Key: []byte("k-plain"), Value: envelope(t, "k-plain-0", 0)},
		&kgo.Record{Topic: topic, Key: []byte("k-fail"), Value: envelope(t, "k-fail-0", 0),
			Headers: []kgo.RecordHeader{{Key: tracing.HeaderTraceparent, Value: []byte(parent)}}},
	)
	stop := startRunner(t, r)
	waitEffects(t, db, 3)
	stop()

	byEvent := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range sr.Ended() {
		id := attr(s, "messaging.message.id")
		byEvent[id] = append(byEvent[id], s)
	}
	wantTrace, _ := trace.TraceIDFromHex("0af7651916cd43dd8448eb211c80319c")
	wantParent, _ := trace.SpanIDFromHex("b7ad6b7169203331")

	// A failed record rolls back its batch transaction: the others of the
	// batch are handled again, each attempt in a span of its own.
	traced := byEvent["k-traced-0"]
	if len(traced) == 0 {
		t.Fatalf("no span of the traced record (all: %d)", len(sr.Ended()))
	}
	for _, s := range traced {
		if got := s.SpanContext().TraceID(); got != wantTrace {
			t.Errorf("trace id = %s, want %s (the traceparent's)", got, wantTrace)
		}
		if got := s.Parent(); got.SpanID() != wantParent || !got.IsRemote() {
			t.Errorf("parent = %s remote=%v, want %s remote", got.SpanID(), got.IsRemote(), wantParent)
		}
		if s.SpanKind() != trace.SpanKindConsumer || s.Name() != "process "+topic {
			t.Errorf("span %q kind %s, want %q consumer", s.Name(), s.SpanKind(), "process "+topic)
		}
		for k, want := range map[string]string{"messaging.consumer.group.name": group, "messaging.destination.name": topic,
			"messaging.system": "kafka", "messaging.kafka.message.key": "k-traced", "messaging.message.conversation_id": "c-k-traced-0",
			"causeway.event.type": testType} {
			if got := attr(s, attribute.Key(k)); got != want {
				t.Errorf("attribute %s = %q, want %q", k, got, want)
			}
		}
	}
	if last := traced[len(traced)-1]; !inHandler["k-traced-0"].Equal(last.SpanContext()) {
		t.Errorf("handler ran in span context %v, want the consumer span's %v", inHandler["k-traced-0"], last.SpanContext())
	}

	plain := byEvent["k-plain-0"]
	if len(plain) == 0 {
		t.Error("no span of the record without traceparent")
	}
	for _, s := range plain {
		if s.Parent().IsValid() {
			t.Errorf("record without traceparent: span parent %v, want a root span", s.Parent())
		}
	}

	fail := byEvent["k-fail-0"]
	if len(fail) < 2 {
		t.Fatalf("spans of the record that failed once = %d, want at least 2", len(fail))
	}
	if fail[0].Status().Code != codes.Error || fail[len(fail)-1].Status().Code == codes.Error {
		t.Errorf("statuses: first %v, last %v; want error, then not", fail[0].Status(), fail[len(fail)-1].Status())
	}
	for _, f := range fail {
		if f.Parent().SpanID() != wantParent {
			t.Errorf("attempt span parent = %s, want %s", f.Parent().SpanID(), wantParent)
		}
	}
}

// Without a tracer provider the handler's context carries no span
// context, even for a record with a traceparent: the header is not read.
func TestNoTracerProviderNoSpanContext(t *testing.T) {
	const group, topic = "notrace-test", "events"
	addr := startBroker(t, 1, append(groupTopics(group), topic)...)
	db := sqltest.SQLite(t, consumer.Migrations(), testMigs)
	var mu sync.Mutex
	var seen []trace.SpanContext
	h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		mu.Lock()
		seen = append(seen, trace.SpanContextFromContext(ctx))
		mu.Unlock()
		return effectHandler(ctx, tx, m)
	})
	r, err := consumer.New(db, newCodec(t), group, []string{topic}, h, consumer.WithKafkaOpts(kafkaOpts(addr)...))
	if err != nil {
		t.Fatal(err)
	}
	produce(t, newProducer(t, addr), &kgo.Record{Topic: topic, Key: []byte("k"), Value: envelope(t, "k-0", 0),
		Headers: []kgo.RecordHeader{{Key: tracing.HeaderTraceparent, Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}}})
	stop := startRunner(t, r)
	waitEffects(t, db, 1)
	stop()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].IsValid() {
		t.Errorf("span contexts seen by the handler = %v, want one invalid", seen)
	}
}

// attr returns the string value of s's attribute k, or "".
func attr(s sdktrace.ReadOnlySpan, k attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == k {
			return kv.Value.Emit()
		}
	}
	return ""
}
