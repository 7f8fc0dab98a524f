package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/metrics"
	"github.com/causeway-dev/causeway/sqldb"
)

// fakeRunner is a StatsSource with settable counters.
type fakeRunner struct {
	group string
	mu    sync.Mutex
	stats consumer.Stats
}

func (f *fakeRunner) Group() string { return f.group }

func (f *fakeRunner) Stats() consumer.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *fakeRunner) set(s consumer.Stats) {
	f.mu.Lock()
	f.stats = s
	f.mu.Unlock()
}

func TestConsumerMetricsCountersNeverGoDown(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewConsumerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	r1 := &fakeRunner{group: "payment-service"}
	r1.set(consumer.Stats{Handled: 10, Skipped: 5, Parked: 1, DeadLetters: 2, Failures: 7, Batches: 3, Rebalances: 1,
		Replays: map[string]int64{"resolved": 1}})
	m.Add(r1)
	names := []string{"causeway_consumer_events_handled_total", "causeway_consumer_events_dead_lettered_total",
		"causeway_consumer_rebalances_total", "causeway_consumer_replays_total"}
	compare(t, reg, `
		# HELP causeway_consumer_events_dead_lettered_total Dead letters produced to dlq.<group>.
		# TYPE causeway_consumer_events_dead_lettered_total counter
		causeway_consumer_events_dead_lettered_total{group="payment-service"} 2
		# HELP causeway_consumer_events_handled_total Events handled (or skipped as duplicates) in committed transactions.
		# TYPE causeway_consumer_events_handled_total counter
		causeway_consumer_events_handled_total{group="payment-service"} 10
		# HELP causeway_consumer_rebalances_total Partition assignment, revocation and loss callbacks.
		# TYPE causeway_consumer_rebalances_total counter
		causeway_consumer_rebalances_total{group="payment-service"} 1
		# HELP causeway_consumer_replays_total Replay-topic records applied, by result (resolved, failed, drain-failed, stale, invalid).
		# TYPE causeway_consumer_replays_total counter
		causeway_consumer_replays_total{group="payment-service",result="resolved"} 1
	`, names...)

	// The runner is replaced by a new one (counting from 0); a second
	// runner of the group joins. Totals only grow.
	r1.set(consumer.Stats{Handled: 15, DeadLetters: 2, Rebalances: 2})
	m.Remove(r1)
	r2 := &fakeRunner{group: "payment-service"}
	r2.set(consumer.Stats{Handled: 4, Rebalances: 1})
	r3 := &fakeRunner{group: "payment-service"}
	r3.set(consumer.Stats{Handled: 1, Skipped: 2})
	m.Add(r2)
	m.Add(r3)
	if got, want := value(t, reg, "causeway_consumer_events_skipped_total", "group", "payment-service"), 7.0; got != want {
		t.Errorf("skipped %v, want %v", got, want)
	}
	if got, want := value(t, reg, "causeway_consumer_events_handled_total", "group", "payment-service"), 20.0; got != want {
		t.Errorf("handled %v, want %v", got, want)
	}
	if got, want := value(t, reg, "causeway_consumer_rebalances_total", "group", "payment-service"), 3.0; got != want {
		t.Errorf("rebalances %v, want %v", got, want)
	}
	r1.set(consumer.Stats{Handled: 100}) // removed: no longer read
	if got, want := value(t, reg, "causeway_consumer_events_handled_total", "group", "payment-service"), 20.0; got != want {
		t.Errorf("handled after a removed runner moved %v, want %v", got, want)
	}
}

// The partition counters add up over a group's runners and survive a
// removed one; the held-partitions gauge counts only the current runners;
// the rebalance observer feeds the duration histogram.
func TestConsumerRebalanceMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewConsumerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	r1 := &fakeRunner{group: "g"}
	r1.set(consumer.Stats{PartitionsAssigned: 12, PartitionsRevoked: 6, Assigned: 6})
	r2 := &fakeRunner{group: "g"}
	r2.set(consumer.Stats{PartitionsAssigned: 6, PartitionsLost: 1, Assigned: 5})
	m.Add(r1)
	m.Add(r2)
	obs := m.RebalanceObserver("g")
	obs(250 * time.Millisecond)
	obs(750 * time.Millisecond)
	compare(t, reg, `
		# HELP causeway_consumer_assigned_partitions Partitions the group's runners in this process hold now.
		# TYPE causeway_consumer_assigned_partitions gauge
		causeway_consumer_assigned_partitions{group="g"} 11
		# HELP causeway_consumer_partitions_assigned_total Partitions assigned to the group's runners (their topics and the replay topic).
		# TYPE causeway_consumer_partitions_assigned_total counter
		causeway_consumer_partitions_assigned_total{group="g"} 18
		# HELP causeway_consumer_partitions_lost_total Partitions lost by the group's runners (session expired or fenced; work abandoned).
		# TYPE causeway_consumer_partitions_lost_total counter
		causeway_consumer_partitions_lost_total{group="g"} 1
		# HELP causeway_consumer_partitions_revoked_total Partitions revoked from the group's runners, by rebalances and by leaving the group.
		# TYPE causeway_consumer_partitions_revoked_total counter
		causeway_consumer_partitions_revoked_total{group="g"} 6
	`, "causeway_consumer_assigned_partitions", "causeway_consumer_partitions_assigned_total",
		"causeway_consumer_partitions_lost_total", "causeway_consumer_partitions_revoked_total")

	r2.set(consumer.Stats{PartitionsAssigned: 6, PartitionsRevoked: 5, PartitionsLost: 1})
	m.Remove(r2)
	if got := value(t, reg, "causeway_consumer_assigned_partitions", "group", "g"); got != 6 {
		t.Errorf("held partitions after a runner left = %v, want 6", got)
	}
	if got := value(t, reg, "causeway_consumer_partitions_revoked_total", "group", "g"); got != 11 {
		t.Errorf("revoked after a runner left = %v, want 11", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "causeway_consumer_rebalance_duration_seconds" {
			h := mf.GetMetric()[0].GetHistogram()
			found = h.GetSampleCount() == 2 && h.GetSampleSum() == 1
		}
	}
	if !found {
		t.Error("causeway_consumer_rebalance_duration_seconds{group=\"g\"}: want 2 samples summing to 1 s")
	}
}

func TestConsumerMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewConsumerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	fail := errors.New("boom")
	h := consumer.Chain(consumer.HandlerFunc(func(_ context.Context, _ *sqldb.Tx, msg *consumer.Message) error {
		if msg.Key == "bad" {
			return fail
		}
		return nil
	}), m.Middleware("g"))
	published := time.Now().Add(-time.Minute)
	for _, key := range []string{"ok", "ok", "bad"} {
		err := h.Handle(t.Context(), nil, &consumer.Message{Topic: "orders", Key: key, Timestamp: published})
		if (err != nil) != (key == "bad") {
			t.Fatalf("key %s: err %v", key, err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	sums := map[string]float64{}
	for _, mf := range mfs {
		for _, mm := range mf.GetMetric() {
			counts[mf.GetName()] = mm.GetHistogram().GetSampleCount()
			sums[mf.GetName()] = mm.GetHistogram().GetSampleSum()
		}
	}
	if got := counts["causeway_consumer_handler_duration_seconds"]; got != 3 {
		t.Errorf("handler durations observed %d, want 3 (every attempt)", got)
	}
	if got := counts["causeway_consumer_event_latency_seconds"]; got != 2 {
		t.Errorf("event latencies observed %d, want 2 (successes only)", got)
	}
	if got := sums["causeway_consumer_event_latency_seconds"]; got < 2*60 {
		t.Errorf("latency sum %v, want at least 120 s (two records published a minute ago)", got)
	}
}

type fakeBacklog struct {
	n     int64
	err   error
	calls int
}

func (f *fakeBacklog) Backlog(context.Context) (int64, error) { f.calls++; return f.n, f.err }

func TestOutboxMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewOutboxMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	o := m.Observer("order")
	o.Published("orders", 20*time.Millisecond)
	o.Published("orders", 2*time.Second)
	o.Failed("orders", errors.New("broker down"))
	ok := &fakeBacklog{n: 42}
	m.AddBacklog("order", ok)
	m.AddBacklog("payment", &fakeBacklog{err: errors.New("db closed")})
	compare(t, reg, `
		# HELP causeway_outbox_backlog_rows Rows in the service's outbox table: committed and not yet acknowledged by the broker.
		# TYPE causeway_outbox_backlog_rows gauge
		causeway_outbox_backlog_rows{service="order"} 42
		# HELP causeway_outbox_failed_total Outbox records the producer failed to deliver (kept and retried).
		# TYPE causeway_outbox_failed_total counter
		causeway_outbox_failed_total{service="order",topic="orders"} 1
		# HELP causeway_outbox_published_total Outbox rows the broker acknowledged and the relay deleted.
		# TYPE causeway_outbox_published_total counter
		causeway_outbox_published_total{service="order",topic="orders"} 2
	`, "causeway_outbox_backlog_rows", "causeway_outbox_failed_total", "causeway_outbox_published_total")
	text := gather(t, reg, "causeway_outbox_relay_latency_seconds")
	for _, want := range []string{
		`causeway_outbox_relay_latency_seconds_bucket{service="order",topic="orders",le="0.025"} 1`,
		`causeway_outbox_relay_latency_seconds_bucket{service="order",topic="orders",le="2.5"} 2`,
		`causeway_outbox_relay_latency_seconds_count{service="order",topic="orders"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("latency histogram lacks %q:\n%s", want, text)
		}
	}
	// The backlog is cached between scrapes.
	ok.n = 7
	if got := value(t, reg, "causeway_outbox_backlog_rows", "service", "order"); got != 42 {
		t.Errorf("backlog %v, want the cached 42", got)
	}
	if ok.calls != 1 {
		t.Errorf("Backlog called %d times over 3 scrapes, want 1", ok.calls)
	}
}

func TestHTTPMiddlewareLabelsByRoute(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewHTTPMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		_, _ = io.WriteString(w, "{}")
	})
	mux.HandleFunc("POST /v1/orders", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	})
	srv := httptest.NewServer(m.Middleware(mux))
	defer srv.Close()
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/orders/a1"}, {"GET", "/v1/orders/b2"}, {"GET", "/v1/orders/missing"},
		{"POST", "/v1/orders"}, {"GET", "/no/such/path"}, {"BREW", "/v1/orders"},
	} {
		r, err := http.NewRequest(req.method, srv.URL+req.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	compare(t, reg, `
		# HELP causeway_http_requests_in_flight HTTP requests being served.
		# TYPE causeway_http_requests_in_flight gauge
		causeway_http_requests_in_flight 0
		# HELP causeway_http_requests_total HTTP requests served, by method, ServeMux route pattern and status code.
		# TYPE causeway_http_requests_total counter
		causeway_http_requests_total{code="200",method="GET",route="GET /v1/orders/{id}"} 2
		causeway_http_requests_total{code="202",method="POST",route="POST /v1/orders"} 1
		causeway_http_requests_total{code="404",method="GET",route="GET /v1/orders/{id}"} 1
		causeway_http_requests_total{code="404",method="GET",route="unmatched"} 1
		causeway_http_requests_total{code="405",method="other",route="unmatched"} 1
	`, "causeway_http_requests_total", "causeway_http_requests_in_flight")
	text := gather(t, reg, "causeway_http_request_duration_seconds")
	if want := `causeway_http_request_duration_seconds_count{method="GET",route="GET /v1/orders/{id}"} 3`; !strings.Contains(text, want) {
		t.Errorf("duration histogram lacks %q:\n%s", want, text)
	}
	if strings.Contains(text, "a1") || strings.Contains(text, "/no/such") {
		t.Errorf("raw paths leaked into labels:\n%s", text)
	}
}

func TestSagaMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := metrics.NewSagaMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	m.ObserveDuration("order", "shipped", 80*time.Millisecond)
	m.ObserveDuration("order", "cancelled", 3*time.Second)
	m.SetStateCounter("order", func(context.Context) (map[string]int, error) {
		return map[string]int{"running": 3, "completed": 10}, nil
	})
	m.SetStateCounter("broken", func(context.Context) (map[string]int, error) {
		return nil, errors.New("db gone")
	})
	compare(t, reg, `
		# HELP causeway_saga_instances Saga instances by state.
		# TYPE causeway_saga_instances gauge
		causeway_saga_instances{saga="order",state="completed"} 10
		causeway_saga_instances{saga="order",state="running"} 3
	`, "causeway_saga_instances")
	text := gather(t, reg, "causeway_saga_duration_seconds")
	for _, want := range []string{
		`causeway_saga_duration_seconds_bucket{outcome="shipped",saga="order",le="0.1"} 1`,
		`causeway_saga_duration_seconds_bucket{outcome="cancelled",saga="order",le="2.5"} 0`,
		`causeway_saga_duration_seconds_count{outcome="cancelled",saga="order"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("saga duration lacks %q:\n%s", want, text)
		}
	}
}

func TestKafkaHooksCountPerTopic(t *testing.T) {
	f := newFixture(t)
	reg := prometheus.NewRegistry()
	h, err := metrics.NewKafkaHooks(reg)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kafka.NewClient(f.broker.ClientConfig(), kgo.WithHooks(h),
		kgo.ConsumeTopics("events"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := testCtx(t)
	for range 3 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "events", Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; n < 3; {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		n += fs.NumRecords()
	}
	if got := value(t, reg, "causeway_kafka_produced_records_total", "topic", "events"); got != 3 {
		t.Errorf("produced %v, want 3", got)
	}
	if got := value(t, reg, "causeway_kafka_consumed_records_total", "topic", "events"); got != 3 {
		t.Errorf("consumed %v, want 3", got)
	}
}

func TestHandlerServesRegistry(t *testing.T) {
	reg := metrics.NewRegistry()
	sm, err := metrics.NewSagaMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	sm.SetStateCounter("order", func(context.Context) (map[string]int, error) { return map[string]int{"running": 1}, nil })
	// Registering twice on one registry is an error, not a panic.
	if _, err := metrics.NewSagaMetrics(reg); err == nil {
		t.Error("second NewSagaMetrics on one registry: no error")
	}
	rec := httptest.NewRecorder()
	metrics.Handler(reg).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total", "# TYPE causeway_saga_instances gauge"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
