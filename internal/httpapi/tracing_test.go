package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/tracing"
)

// A request is served in a server span named after its route, the child
// of the client's traceparent; the order it places carries that span's
// context in its outbox row's traceparent; an unrouted request has a span
// named after its method.
func TestServerSpans(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	f := newFixture(t, httpapi.WithTracerProvider(tp))
	const client = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	r := f.post(t, "/v1/orders", validBody, map[string]string{"traceparent": client})
	if r.status != http.StatusAccepted {
		t.Fatalf("place: %d %s", r.status, r.body)
	}
	var p placed
	r.json(t, &p)
	if r := f.get(t, "/no/such/route"); r.status != http.StatusNotFound {
		t.Fatalf("unrouted: %d", r.status)
	}

	spans := sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("spans = %d, want 2", len(spans))
	}
	s := spans[0]
	if s.Name() != "POST /v1/orders" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %s, want \"POST /v1/orders\" server", s.Name(), s.SpanKind())
	}
	if s.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("span trace %s parent %s, want the client's traceparent", s.SpanContext().TraceID(), s.Parent().SpanID())
	}
	attrs := map[string]string{}
	for _, kv := range s.Attributes() {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	for k, want := range map[string]string{"http.route": "POST /v1/orders", "http.response.status_code": "202",
		"http.request.method": "POST", "messaging.message.conversation_id": p.CorrelationID, "causeway.order.id": p.OrderID} {
		if attrs[k] != want {
			t.Errorf("attribute %s = %q, want %q", k, attrs[k], want)
		}
	}
	if u := spans[1]; u.Name() != "GET" || u.Status().Code == codes.Error || u.Parent().IsValid() {
		t.Errorf("unrouted request span %q status %v parent %v; want \"GET\", no error, a root", u.Name(), u.Status(), u.Parent())
	}

	var raw string
	if err := f.db.Read.QueryRowContext(context.Background(), `SELECT headers FROM outbox`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var hs []outbox.Header
	if err := json.Unmarshal([]byte(raw), &hs); err != nil {
		t.Fatal(err)
	}
	want, _ := tracing.Traceparent(trace.ContextWithSpanContext(context.Background(), s.SpanContext()))
	var got []string
	for _, h := range hs {
		if h.Key == tracing.HeaderTraceparent {
			got = append(got, h.Value)
		}
	}
	if strings.Join(got, ",") != want {
		t.Errorf("outbox traceparent headers = %q, want [%q] (the request's span)", got, want)
	}
}
