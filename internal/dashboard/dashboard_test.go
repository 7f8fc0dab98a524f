package dashboard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/dashboard"
	"github.com/prometheus/client_golang/prometheus"
)

// registry returns a registry with the platform's metric names and a few
// values, and the produced counter to move.
func registry(t *testing.T) (*prometheus.Registry, *prometheus.CounterVec) {
	t.Helper()
	reg := prometheus.NewRegistry()
	produced := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "causeway_kafka_produced_records_total"}, []string{"topic"})
	published := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "causeway_outbox_published_total"}, []string{"service", "topic"})
	backlog := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "causeway_outbox_backlog_rows"}, []string{"service"})
	lag := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "causeway_consumer_lag_records"}, []string{"group", "topic", "partition"})
	dlqDepth := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "causeway_dlq_depth_records"}, []string{"group"})
	sagas := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "causeway_saga_instances"}, []string{"saga", "state"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "causeway_consumer_event_latency_seconds",
		Buckets: []float64{.01, .1, 1}}, []string{"group", "topic"})
	reg.MustRegister(produced, published, backlog, lag, dlqDepth, sagas, latency)
	produced.WithLabelValues("orders").Add(10)
	published.WithLabelValues("order-service", "orders").Add(10)
	backlog.WithLabelValues("order-service").Set(3)
	lag.WithLabelValues("payment-service", "orders", "0").Set(4)
	lag.WithLabelValues("payment-service", "orders", "1").Set(5)
	dlqDepth.WithLabelValues("payment-service").Set(2)
	sagas.WithLabelValues("order", "running").Set(7)
	for range 90 {
		latency.WithLabelValues("payment-service", "orders").Observe(.005)
	}
	for range 10 {
		latency.WithLabelValues("payment-service", "orders").Observe(.5)
	}
	return reg, produced
}

func TestStateSummarisesTheRegistry(t *testing.T) {
	reg, produced := registry(t)
	d := dashboard.New(dashboard.Config{Metrics: reg})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := d.State(t0); err != nil {
		t.Fatal(err)
	}
	produced.WithLabelValues("orders").Add(20)
	st, err := d.State(t0.Add(2 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Topics) != 1 || st.Topics[0].Name != "orders" || st.Topics[0].Produced != 30 || st.Topics[0].Rate != 10 {
		t.Errorf("topics = %+v, want orders with 30 produced at 10/s", st.Topics)
	}
	if len(st.Groups) != 1 || st.Groups[0].Group != "payment-service" || st.Groups[0].Lag != 9 || st.Groups[0].DLQDepth != 2 {
		t.Errorf("groups = %+v, want payment-service with lag 9 and 2 dead letters", st.Groups)
	}
	if st.DLQDepth != 2 {
		t.Errorf("dlqDepth = %d, want 2", st.DLQDepth)
	}
	if len(st.Services) != 1 || st.Services[0].OutboxBacklog != 3 {
		t.Errorf("services = %+v, want order-service with backlog 3", st.Services)
	}
	wantEdges := []dashboard.Edge{{From: "orders", To: "payment-service", Kind: "consumes"}, {From: "order-service", To: "orders", Kind: "produces"}}
	if len(st.Edges) != 2 || st.Edges[0] != wantEdges[0] || st.Edges[1] != wantEdges[1] {
		t.Errorf("edges = %+v, want %+v", st.Edges, wantEdges)
	}
	if len(st.Sagas) != 1 || st.Sagas[0] != (dashboard.Saga{Saga: "order", State: "running", Count: 7}) {
		t.Errorf("sagas = %+v", st.Sagas)
	}
	if len(st.Latency) != 1 {
		t.Fatalf("latency = %+v, want one histogram", st.Latency)
	}
	l := st.Latency[0]
	// 90 samples ≤ 10 ms, 10 in (0.1, 1]: p50 interpolates in the first
	// bucket, p95 and p99 in the last.
	if l.Count != 100 || l.P50 <= 0 || l.P50 > .01 || l.P95 <= .1 || l.P95 > 1 || l.P99 < l.P95 {
		t.Errorf("latency = %+v", l)
	}
}

func TestStateAndPageOverHTTP(t *testing.T) {
	reg, _ := registry(t)
	d := dashboard.New(dashboard.Config{Metrics: reg})
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", d.Page())
	mux.Handle("GET "+dashboard.StaticPrefix+"{file}", d.Static())
	mux.Handle("GET /v1/dashboard/state", d.StateHandler())
	mux.Handle("GET /v1/dashboard/orders", d.OrdersHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := get("/v1/dashboard/state")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("state: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var st dashboard.State
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("state: %v\n%s", err, body)
	}
	if st.DLQDepth != 2 || len(st.Groups) != 1 {
		t.Errorf("state = %s", body)
	}
	res, body = get("/")
	if res.StatusCode != 200 || !strings.Contains(body, `src="/dashboard/static/dashboard.js"`) || strings.Contains(body, "http://") && strings.Contains(body, "cdn") {
		t.Errorf("page: %d\n%s", res.StatusCode, body)
	}
	for _, f := range []string{"dashboard.js", "dashboard.css"} {
		if res, body := get(dashboard.StaticPrefix + f); res.StatusCode != 200 || len(body) < 100 {
			t.Errorf("%s: %d, %d bytes", f, res.StatusCode, len(body))
		}
	}
	// Without an order service the recent orders are an empty list.
	if res, body := get("/v1/dashboard/orders"); res.StatusCode != 200 || strings.TrimSpace(body) != `{"orders":[]}` {
		t.Errorf("orders: %d %s", res.StatusCode, body)
	}
	if res, _ := get("/v1/dashboard/orders?limit=0"); res.StatusCode != 400 {
		t.Errorf("orders?limit=0: %d, want 400", res.StatusCode)
	}
}

func TestLatencyOverTheLastMinute(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "causeway_consumer_event_latency_seconds",
		Buckets: []float64{.01, .1, 1}}, []string{"group", "topic"})
	reg.MustRegister(h)
	for range 100 {
		h.WithLabelValues("g", "orders").Observe(.005)
	}
	d := dashboard.New(dashboard.Config{Metrics: reg})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	latency := func(at time.Time) dashboard.Latency {
		t.Helper()
		st, err := d.State(at)
		if err != nil || len(st.Latency) != 1 {
			t.Fatalf("state: %v %+v", err, st)
		}
		return st.Latency[0]
	}
	// No window yet: since the start.
	if l := latency(t0); l.WindowSeconds != 0 || l.Count != 100 || l.Total != 100 || l.P99 > .01 {
		t.Errorf("at start: %+v", l)
	}
	for range 10 {
		h.WithLabelValues("g", "orders").Observe(.5)
	}
	// 10 s later the window holds only the 10 slow samples.
	if l := latency(t0.Add(10 * time.Second)); l.WindowSeconds != 10 || l.Count != 10 || l.Total != 110 || l.P50 <= .1 {
		t.Errorf("after 10 s: %+v, want the 10 samples of 0.5 s", l)
	}
	// Two minutes on without samples: the window is empty, so the
	// percentiles fall back to all samples.
	latency(t0.Add(70 * time.Second))
	if l := latency(t0.Add(130 * time.Second)); l.WindowSeconds != 0 || l.Count != 110 || l.Total != 110 {
		t.Errorf("after an idle minute: %+v, want all 110 samples", l)
	}
}
