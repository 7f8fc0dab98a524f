package outbox_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
	"github.com/causeway-dev/causeway/tracing"
)

// With a tracer provider each produced row gets a producer span, a child
// of the context stored in the row's traceparent, and the record carries
// the producer span's context in its (single) traceparent header; a row
// without a traceparent starts a trace and gets one.
func TestRelayProducerSpans(t *testing.T) {
	db := sqltest.SQLite(t, outbox.Migrations())
	cluster := newCluster(t, "orders")
	addrs := cluster.ListenAddrs()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	traced := msg("orders", "k", 0) // traceparent 00-000…01-000…01-01
	plain := msg("orders", "k", 1)
	plain.Headers = plain.Headers[1:] // only ce_id
	enqueue(t, db, traced, plain)
	r := outbox.NewRelay(db, newClient(t, addrs, kgo.ProducerLinger(0)), outbox.WithTracerProvider(tp))
	stop := runRelay(t, r)
	recs := consume(t, addrs, "orders", func(rs []*kgo.Record) bool { return len(rs) >= 2 })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("spans = %d, want 2", len(spans))
	}
	bySeq := map[int]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		if s.Name() != "send orders" || s.SpanKind() != trace.SpanKindProducer {
			t.Errorf("span %q kind %s, want \"send orders\" producer", s.Name(), s.SpanKind())
		}
		for _, kv := range s.Attributes() {
			if kv.Key == "causeway.outbox.row_id" {
				bySeq[int(kv.Value.AsInt64())-1] = s // row ids 1, 2 on a fresh table
			}
		}
	}
	wantParent, _ := trace.SpanIDFromHex("0000000000000001")
	if s := bySeq[0]; s == nil || s.Parent().SpanID() != wantParent || !s.Parent().IsRemote() ||
		s.SpanContext().TraceID().String() != "00000000000000000000000000000001" {
		t.Errorf("span of the traced row: %v, want a child of the stored traceparent", s)
	}
	if s := bySeq[1]; s == nil || s.Parent().IsValid() {
		t.Errorf("span of the row without traceparent: %v, want a root span", s)
	}
	for _, rec := range recs {
		_, seq := parseSeq(t, rec)
		var tps []string
		for _, h := range rec.Headers {
			if h.Key == tracing.HeaderTraceparent {
				tps = append(tps, string(h.Value))
			}
		}
		s := bySeq[seq]
		if s == nil {
			continue
		}
		want, _ := tracing.Traceparent(trace.ContextWithSpanContext(context.Background(), s.SpanContext()))
		if len(tps) != 1 || tps[0] != want {
			t.Errorf("record %d traceparent headers = %q, want [%q] (its producer span)", seq, tps, want)
		}
	}
}

// Enqueue in a context with a span gives the messages without a
// traceparent that span's, and keeps the ones a message has.
func TestEnqueueStampsTraceparent(t *testing.T) {
	db := sqltest.SQLite(t, outbox.Migrations())
	tid, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	ctx := trace.ContextWithSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled}))
	own := msg("orders", "k", 0)
	bare := outbox.Message{Topic: "orders", Key: "k", Value: []byte("k/1"), Headers: []outbox.Header{{Key: "ce_id", Value: "x"}}}
	err := db.InTx(ctx, func(tx *sqldb.Tx) error { return outbox.Enqueue(ctx, tx, own, bare) })
	if err != nil {
		t.Fatal(err)
	}
	if len(bare.Headers) != 1 {
		t.Errorf("Enqueue changed the caller's message: %v", bare.Headers)
	}
	rows, err := db.Read.QueryContext(context.Background(), `SELECT headers FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		got = append(got, h)
	}
	want := []string{
		`[{"key":"traceparent","value":"00-00000000000000000000000000000001-0000000000000001-01"},{"key":"ce_id","value":"k/0"}]`,
		`[{"key":"ce_id","value":"x"},{"key":"traceparent","value":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}]`,
	}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("stored headers:\n%q\nwant\n%q", got, want)
	}
}
