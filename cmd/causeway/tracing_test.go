package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spanAttr returns the emitted value of s's attribute key, or "".
func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// spanService is the service.name of s's resource.
func spanService(s sdktrace.ReadOnlySpan) string {
	for _, kv := range s.Resource().Attributes() {
		if kv.Key == "service.name" {
			return kv.Value.Emit()
		}
	}
	return ""
}

// describe names a span for the chain: "NAME [service]".
func describe(s sdktrace.ReadOnlySpan) string {
	return s.Name() + " [" + spanService(s) + "]"
}

// An order placed through HTTP on a running `up` with tracing is one
// trace. Under choreography the HTTP span, the order relay's producer
// span, the payment handler's span, the payment relay's, inventory's, the
// inventory relay's and shipping's handler span form one parent chain
// across Kafka; in both saga modes every handler span of the flow (email
// and analytics too) is in the HTTP span's trace, its ancestors all
// recorded up to the HTTP span.
func TestTraceAcrossServices(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts causeway up (skipped under -short)")
	}
	for _, mode := range []string{SagaChoreography, SagaOrchestration} {
		t.Run(mode, func(t *testing.T) { testTraceAcrossServices(t, mode) })
	}
}

func testTraceAcrossServices(t *testing.T, mode string) {
	dir := t.TempDir()
	sr := tracetest.NewSpanRecorder()
	cfg := DefaultUpConfig()
	cfg.DataDir, cfg.HTTPAddr, cfg.KafkaAddr, cfg.Saga = dir, "127.0.0.1:0", "127.0.0.1:0", mode
	cfg.Tracing.processor = sr
	logs := &syncBuffer{}
	up := startRun(t, dir, logs, func(ctx context.Context) error {
		return runUp(ctx, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	})
	id, status := placeAndFinish(t, "http://"+up.rt.HTTPAddr, "u-trace-1", "card_ok")
	if status != "shipped" {
		t.Fatalf("order %s: %s, want shipped", id, status)
	}

	if mode == SagaChoreography {
		want := []string{
			"process inventory [shipping-service]",
			"send inventory [inventory-service]",
			"process payments [inventory-service]",
			"send payments [payment-service]",
			"process orders [payment-service]",
			"send orders [order-service]",
			"POST /v1/orders [order-service]",
		}
		// A producer span ends at the broker's ack, which may come after
		// the consumer handled the record: wait (bounded) for the chain.
		var chain []string
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			chain = shippingChain(sr.Ended(), id)
			if strings.Join(chain, "\n") == strings.Join(want, "\n") || time.Now().After(deadline) {
				break
			}
		}
		if got := strings.Join(chain, "\n"); got != strings.Join(want, "\n") {
			t.Fatalf("parent chain of the shipping handler's span:\n%s\nwant\n%s", got, strings.Join(want, "\n"))
		}
	}

	// Under orchestration the order service's group is the orchestrator's.
	wantGroups := []string{"payment-service", "inventory-service", "shipping-service", "email-service", "analytics-service", "order-service"}
	if mode == SagaOrchestration {
		wantGroups[len(wantGroups)-1] = "saga-orchestrator"
	}
	var problems []string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		problems = flowProblems(sr.Ended(), id, wantGroups)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// flowProblems checks the spans of order id's flow: every handler span of
// the flow is in the HTTP span's trace and reaches it through recorded
// parents, and each group of groups has one.
func flowProblems(spans []sdktrace.ReadOnlySpan, id string, groups []string) []string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var root sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == "POST /v1/orders" && spanAttr(s, "causeway.order.id") == id {
			root = s
		}
	}
	if root == nil {
		return []string{"no HTTP span of the order"}
	}
	corr := spanAttr(root, "messaging.message.conversation_id")
	var problems []string
	seen := map[string]bool{}
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindConsumer || spanAttr(s, "messaging.message.conversation_id") != corr {
			continue
		}
		seen[spanAttr(s, "messaging.consumer.group.name")] = true
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			problems = append(problems, fmt.Sprintf("span %s is in trace %s, want %s", describe(s), s.SpanContext().TraceID(), root.SpanContext().TraceID()))
			continue
		}
		cur, complete := s, true
		for cur.Parent().IsValid() {
			p, ok := byID[cur.Parent().SpanID()]
			if !ok {
				problems = append(problems, fmt.Sprintf("span %s: ancestor %s has no recorded parent", describe(s), describe(cur)))
				complete = false
				break
			}
			cur = p
		}
		if complete && cur.SpanContext().SpanID() != root.SpanContext().SpanID() {
			problems = append(problems, fmt.Sprintf("span %s descends from %s, not from the HTTP span", describe(s), describe(cur)))
		}
	}
	for _, g := range groups {
		if !seen[g] {
			problems = append(problems, fmt.Sprintf("no handler span of group %s in the flow (groups: %v)", g, seen))
		}
	}
	return problems
}

// shippingChain finds the shipping handler's span of the flow of order id
// (the one handling stock.reserved) and returns it and its ancestors,
// described, up to the root; nil when a span of it is missing.
func shippingChain(spans []sdktrace.ReadOnlySpan, id string) []string {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var corr string
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == "POST /v1/orders" && spanAttr(s, "causeway.order.id") == id {
			corr = spanAttr(s, "messaging.message.conversation_id")
		}
	}
	for _, s := range spans {
		if corr == "" || spanAttr(s, "messaging.consumer.group.name") != "shipping-service" ||
			spanAttr(s, "causeway.event.type") != "stock.reserved" || spanAttr(s, "messaging.message.conversation_id") != corr {
			continue
		}
		var chain []string
		for cur, ok := s, true; ok; cur, ok = byID[cur.Parent().SpanID()] {
			chain = append(chain, describe(cur))
			if !cur.Parent().IsValid() {
				return chain
			}
		}
		return append(chain, fmt.Sprintf("(missing parent span %s)", chain[len(chain)-1]))
	}
	return nil
}

// `up --trace-exporter stdout` writes the spans as JSON to standard
// output: the HTTP span and the payment handler's span of one order are
// there, in one trace, with their services.
func TestTraceExporterStdout(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts causeway up (skipped under -short)")
	}
	dir := t.TempDir()
	logs := &syncBuffer{}
	root := newRootCmd()
	root.SetArgs([]string{"up", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--kafka-addr", "127.0.0.1:0",
		"--trace-exporter", "stdout"})
	out := &syncBuffer{}
	root.SetErr(logs)
	root.SetOut(out)
	up := startRun(t, dir, logs, root.ExecuteContext)
	id, _ := placeAndFinish(t, "http://"+up.rt.HTTPAddr, "u-trace-2", "card_ok")
	if err := up.stop(); err != nil { // flushes the exporter
		t.Fatal(err)
	}

	type stdoutSpan struct {
		Name        string
		SpanContext struct{ TraceID string }
		Parent      struct{ SpanID string }
		Attributes  []struct {
			Key   string
			Value struct{ Value any }
		}
		Resource []struct {
			Key   string
			Value struct{ Value any }
		}
	}
	attr := func(s stdoutSpan, key string) string {
		for _, kv := range append(s.Attributes, s.Resource...) {
			if kv.Key == key {
				return fmt.Sprint(kv.Value.Value)
			}
		}
		return ""
	}
	var spans []stdoutSpan
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s stdoutSpan
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("stdout line is not a span: %v\n%s", err, sc.Text())
		}
		spans = append(spans, s)
	}
	var httpSpan *stdoutSpan
	for i := range spans {
		if spans[i].Name == "POST /v1/orders" && attr(spans[i], "causeway.order.id") == id {
			httpSpan = &spans[i]
		}
	}
	if httpSpan == nil {
		t.Fatalf("no span POST /v1/orders for order %s among %d spans on stdout", id, len(spans))
	}
	if got := attr(*httpSpan, "service.name"); got != "order-service" {
		t.Errorf("HTTP span's service.name = %q, want order-service", got)
	}
	found := false
	for _, s := range spans {
		if s.Name == "process orders" && attr(s, "service.name") == "payment-service" &&
			attr(s, "messaging.message.conversation_id") == attr(*httpSpan, "messaging.message.conversation_id") {
			found = true
			if s.SpanContext.TraceID != httpSpan.SpanContext.TraceID {
				t.Errorf("payment handler span in trace %s, want %s", s.SpanContext.TraceID, httpSpan.SpanContext.TraceID)
			}
		}
	}
	if !found {
		t.Errorf("no payment handler span of the order on stdout (%d spans)", len(spans))
	}
}

// The tracing flags are checked before anything starts.
func TestTracingConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		cfg  TracingConfig
		want string // "" valid
	}{
		{DefaultTracingConfig(), ""},
		{TracingConfig{Exporter: "otlp", OTLPEndpoint: "http://127.0.0.1:4318", SampleRatio: 0.5}, ""},
		{TracingConfig{Exporter: "jaeger", SampleRatio: 1}, `--trace-exporter "jaeger"`},
		{TracingConfig{Exporter: "otlp", OTLPEndpoint: "127.0.0.1:4318", SampleRatio: 1}, "--otlp-endpoint"},
		{TracingConfig{Exporter: "stdout", SampleRatio: 1.5}, "--trace-sample-ratio 1.5"},
	} {
		err := tt.cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v, want valid", tt.cfg, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%+v: %v, want an error about %s", tt.cfg, err, tt.want)
		}
	}
	if got, _ := otlpURL("http://collector:4318"); got != "http://collector:4318/v1/traces" {
		t.Errorf("otlpURL = %q, want the default path appended", got)
	}
}

// otlpSink is a minimal OTLP/HTTP collector: it keeps the spans of every
// export request posted to /v1/traces.
type otlpSink struct {
	mu    sync.Mutex
	spans []otlpSpan
	bad   []string
}

// otlpSpan is one received span with its resource's service.name.
type otlpSpan struct {
	service, name string
	traceID       []byte
}

func (s *otlpSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		s.bad = append(s.bad, fmt.Sprintf("%s %s %q: %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				s.spans = append(s.spans, otlpSpan{service: service, name: sp.GetName(), traceID: sp.GetTraceId()})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(nil)
}

// `up --trace-exporter otlp --otlp-endpoint URL` posts the spans as OTLP
// protobuf to URL/v1/traces: a local collector receives the order's HTTP
// span and the payment handler's span, in one trace, from their services.
func TestTraceExporterOTLP(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts causeway up (skipped under -short)")
	}
	sink := &otlpSink{}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	up := startUp(t, dir, "--trace-exporter", "otlp", "--otlp-endpoint", srv.URL)
	placeAndFinish(t, "http://"+up.rt.HTTPAddr, "u-trace-3", "card_ok")
	if err := up.stop(); err != nil { // flushes the exporter
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.bad) > 0 {
		t.Errorf("bad export requests: %q", sink.bad)
	}
	var httpTrace []byte
	for _, s := range sink.spans {
		if s.name == "POST /v1/orders" && s.service == "order-service" {
			httpTrace = s.traceID
		}
	}
	if httpTrace == nil {
		t.Fatalf("no POST /v1/orders span from order-service among %d received", len(sink.spans))
	}
	for _, s := range sink.spans {
		if s.name == "process orders" && s.service == "payment-service" && string(s.traceID) == string(httpTrace) {
			return
		}
	}
	t.Errorf("no payment-service span in the HTTP span's trace among %d received", len(sink.spans))
}
