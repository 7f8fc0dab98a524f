// Package dashboard is the operator's page at GET /: a server-rendered
// html/template shell with a small vanilla JS client (embedded, no CDN)
// that reads the state and orders from a server-sent event stream, falling
// back to polling the JSON API every 1.5 s, and the endpoints it adds:
// GET /v1/dashboard/state (topology, throughput, lag, DLQ depth, sagas,
// outbox backlog and latency percentiles, read from the process's
// Prometheus registry), GET /v1/dashboard/orders (recent orders with
// their status, from the order service's event store) and
// GET /v1/dashboard/stream (both, as server-sent events).
package dashboard

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

//go:embed templates/index.html
var templatesFS embed.FS

//go:embed static
var staticFS embed.FS

var pageTmpl = template.Must(template.ParseFS(templatesFS, "templates/index.html"))

// Orders is the order service as the dashboard needs it;
// *ordersvc.Service implements it.
type Orders interface {
	Store() eventstore.Store
	Get(ctx context.Context, id string) (ordersvc.OrderView, error)
}

var _ Orders = (*ordersvc.Service)(nil)

// Config is what the dashboard reads.
type Config struct {
	// Metrics is the process's registry (nil: empty state).
	Metrics prometheus.Gatherer
	// Orders is the order service (nil: no recent orders).
	Orders Orders
	// Title is the page's title (default "Causeway").
	Title string
}

// Dashboard serves the page, its static files and its JSON endpoints.
// It is safe for concurrent use.
type Dashboard struct {
	cfg Config

	mu       sync.Mutex // guards the rate sample
	prevAt   time.Time
	prevProd map[string]float64
	rates    map[string]float64
	hsamples []histSample // latency histograms, one per ≥ histEvery, over ≥ LatencyWindow

	tailMu sync.Mutex // guards the order tail
	cursor int64
	last   map[string]int64 // order id → global position of its last event

	done      chan struct{} // closed by Close: streams end
	closeOnce sync.Once
}

// New returns a dashboard over cfg.
func New(cfg Config) *Dashboard {
	if cfg.Title == "" {
		cfg.Title = "Causeway"
	}
	return &Dashboard{cfg: cfg, last: map[string]int64{}, rates: map[string]float64{}, done: make(chan struct{})}
}

// Page serves GET /: the HTML shell (no data: the script fetches it).
func (d *Dashboard) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
		_ = pageTmpl.Execute(w, map[string]any{"Title": d.cfg.Title, "Static": StaticPrefix})
	})
}

// StaticPrefix is where Static serves the page's script and style sheet.
const StaticPrefix = "/dashboard/static/"

// Static serves the embedded script and style sheet under StaticPrefix.
func (d *Dashboard) Static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	return http.StripPrefix(StaticPrefix, http.FileServer(http.FS(sub)))
}

// State is the answer of GET /v1/dashboard/state.
type State struct {
	At       time.Time `json:"at"`
	Services []Service `json:"services"`
	Topics   []Topic   `json:"topics"`
	Edges    []Edge    `json:"edges"`
	Groups   []Group   `json:"groups"`
	DLQDepth int64     `json:"dlqDepth"`
	Sagas    []Saga    `json:"sagas"`
	Latency  []Latency `json:"latency"`
}

// Service is a producing service (an outbox relay).
type Service struct {
	Name          string `json:"name"`
	OutboxBacklog int64  `json:"outboxBacklog"`
}

// Topic is a Kafka topic this process produces to or consumes from.
type Topic struct {
	Name     string  `json:"name"`
	Produced int64   `json:"produced"`
	Consumed int64   `json:"consumed"`
	Rate     float64 `json:"ratePerSec"` // records produced per second, over the last ≥ 1 s
}

// Edge is a service producing to a topic or a consumer group reading it.
type Edge struct {
	From string `json:"from"`
	To   string `json:"to"`
	Kind string `json:"kind"` // "produces" (service → topic) or "consumes" (topic → group)
}

// Group is a consumer group of this process.
type Group struct {
	Group      string  `json:"group"`
	Lag        int64   `json:"lag"`
	LagSeconds float64 `json:"lagSeconds"`
	DLQDepth   int64   `json:"dlqDepth"`
	Members    int64   `json:"members"`
	Handled    int64   `json:"handled"`
}

// Saga is the count of saga instances in one state.
type Saga struct {
	Saga  string `json:"saga"`
	State string `json:"state"`
	Count int64  `json:"count"`
}

// Latency is a histogram's percentiles (seconds) over the last
// WindowSeconds (about LatencyWindow), or since the process started
// (WindowSeconds 0) when the window saw no samples or is not yet known.
type Latency struct {
	Name          string  `json:"name"`
	Label         string  `json:"label"`
	Count         uint64  `json:"count"` // samples the percentiles are of
	Total         uint64  `json:"total"` // samples since the process started
	WindowSeconds float64 `json:"windowSeconds"`
	P50           float64 `json:"p50"`
	P95           float64 `json:"p95"`
	P99           float64 `json:"p99"`
}

// LatencyWindow is the span the latency percentiles cover.
const LatencyWindow = time.Minute

const histEvery = 5 * time.Second

type histSample struct {
	at time.Time
	h  map[string]map[string]*dto.Histogram
}

// StateHandler serves GET /v1/dashboard/state.
func (d *Dashboard) StateHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := d.State(time.Now())
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"title": "Internal Server Error", "detail": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
}

// State gathers the registry and summarises it at now.
func (d *Dashboard) State(now time.Time) (*State, error) {
	st := &State{At: now.UTC(), Services: []Service{}, Topics: []Topic{}, Edges: []Edge{}, Groups: []Group{}, Sagas: []Saga{}, Latency: []Latency{}}
	if d.cfg.Metrics == nil {
		return st, nil
	}
	mfs, err := d.cfg.Metrics.Gather()
	if err != nil && len(mfs) == 0 {
		return nil, err
	}
	topics := map[string]*Topic{}
	topic := func(n string) *Topic {
		if topics[n] == nil {
			topics[n] = &Topic{Name: n}
		}
		return topics[n]
	}
	groups := map[string]*Group{}
	group := func(n string) *Group {
		if groups[n] == nil {
			groups[n] = &Group{Group: n}
		}
		return groups[n]
	}
	services := map[string]*Service{}
	service := func(n string) *Service {
		if services[n] == nil {
			services[n] = &Service{Name: n}
		}
		return services[n]
	}
	edges := map[Edge]bool{}
	hists := map[string]map[string]*dto.Histogram{} // metric → label → merged
	for _, mf := range mfs {
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			l := labels(m)
			v := value(m)
			switch name {
			case "causeway_kafka_produced_records_total":
				topic(l["topic"]).Produced += int64(v)
			case "causeway_kafka_consumed_records_total":
				topic(l["topic"]).Consumed += int64(v)
			case "causeway_outbox_published_total":
				service(l["service"])
				topic(l["topic"])
				edges[Edge{From: l["service"], To: l["topic"], Kind: "produces"}] = true
			case "causeway_outbox_backlog_rows":
				service(l["service"]).OutboxBacklog += int64(v)
			case "causeway_consumer_lag_records":
				group(l["group"]).Lag += int64(v)
				topic(l["topic"])
				edges[Edge{From: l["topic"], To: l["group"], Kind: "consumes"}] = true
			case "causeway_consumer_lag_seconds":
				g := group(l["group"])
				g.LagSeconds = math.Max(g.LagSeconds, v)
			case "causeway_dlq_depth_records":
				group(l["group"]).DLQDepth += int64(v)
				st.DLQDepth += int64(v)
			case "causeway_consumer_group_members":
				group(l["group"]).Members = int64(v)
			case "causeway_consumer_events_handled_total":
				group(l["group"]).Handled = int64(v)
			case "causeway_saga_instances":
				st.Sagas = append(st.Sagas, Saga{Saga: l["saga"], State: l["state"], Count: int64(v)})
			case "causeway_consumer_event_latency_seconds":
				merge(hists, "event latency", l["group"], m.GetHistogram())
				edges[Edge{From: l["topic"], To: l["group"], Kind: "consumes"}] = true
				topic(l["topic"])
			case "causeway_saga_duration_seconds":
				merge(hists, "saga duration", l["saga"]+" "+l["outcome"], m.GetHistogram())
			case "causeway_outbox_relay_latency_seconds":
				merge(hists, "outbox relay", l["service"], m.GetHistogram())
			case "causeway_http_request_duration_seconds":
				if strings.HasPrefix(l["route"], "POST /v1/orders") {
					merge(hists, "http", l["method"]+" "+strings.TrimPrefix(l["route"], l["method"]+" "), m.GetHistogram())
				}
			}
		}
	}
	for _, g := range groups {
		if g.Group != "" {
			group(g.Group)
		}
	}
	d.updateRates(now, topics)
	for _, t := range topics {
		if t.Name != "" {
			st.Topics = append(st.Topics, *t)
		}
	}
	for _, g := range groups {
		if g.Group != "" {
			st.Groups = append(st.Groups, *g)
		}
	}
	for _, s := range services {
		if s.Name != "" {
			st.Services = append(st.Services, *s)
		}
	}
	for e := range edges {
		if e.From != "" && e.To != "" {
			st.Edges = append(st.Edges, e)
		}
	}
	base := d.window(now, hists)
	for name, byLabel := range hists {
		for label, h := range byLabel {
			l := Latency{Name: name, Label: label, Total: h.GetSampleCount()}
			if base != nil {
				if w := sub(h, base.h[name][label]); w.GetSampleCount() > 0 {
					h, l.WindowSeconds = w, math.Round(now.Sub(base.at).Seconds())
				}
			}
			l.Count, l.P50, l.P95, l.P99 = h.GetSampleCount(), quantile(0.50, h), quantile(0.95, h), quantile(0.99, h)
			st.Latency = append(st.Latency, l)
		}
	}
	sort.Slice(st.Topics, func(i, j int) bool { return st.Topics[i].Name < st.Topics[j].Name })
	sort.Slice(st.Groups, func(i, j int) bool { return st.Groups[i].Group < st.Groups[j].Group })
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	sort.Slice(st.Edges, func(i, j int) bool {
		a, b := st.Edges[i], st.Edges[j]
		return a.Kind+a.From+"\x00"+a.To < b.Kind+b.From+"\x00"+b.To
	})
	sort.Slice(st.Sagas, func(i, j int) bool { return st.Sagas[i].Saga+st.Sagas[i].State < st.Sagas[j].Saga+st.Sagas[j].State })
	sort.Slice(st.Latency, func(i, j int) bool {
		return st.Latency[i].Name+st.Latency[i].Label < st.Latency[j].Name+st.Latency[j].Label
	})
	return st, nil
}

// updateRates sets each topic's Rate from the produced counters, over the
// last sample at least a second old.
func (d *Dashboard) updateRates(now time.Time, topics map[string]*Topic) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.prevProd == nil {
		d.prevAt, d.prevProd = now, map[string]float64{}
		for n, t := range topics {
			d.prevProd[n] = float64(t.Produced)
		}
	} else if dt := now.Sub(d.prevAt).Seconds(); dt >= 1 {
		rates := map[string]float64{}
		for n, t := range topics {
			delta := float64(t.Produced) - d.prevProd[n]
			if delta < 0 {
				delta = 0
			}
			rates[n] = delta / dt
			d.prevProd[n] = float64(t.Produced)
		}
		d.rates, d.prevAt = rates, now
	}
	for n, t := range topics {
		t.Rate = math.Round(d.rates[n]*100) / 100
	}
}

// window records hists (at most once per histEvery, keeping a little over
// LatencyWindow) and returns the oldest sample within LatencyWindow of
// now, nil when there is none older than histEvery.
func (d *Dashboard) window(now time.Time, hists map[string]map[string]*dto.Histogram) *histSample {
	d.mu.Lock()
	defer d.mu.Unlock()
	if n := len(d.hsamples); n == 0 || now.Sub(d.hsamples[n-1].at) >= histEvery {
		d.hsamples = append(d.hsamples, histSample{at: now, h: hists})
	}
	for len(d.hsamples) > 1 && now.Sub(d.hsamples[1].at) >= LatencyWindow {
		d.hsamples = d.hsamples[1:]
	}
	if b := &d.hsamples[0]; now.Sub(b.at) >= histEvery {
		return b
	}
	return nil
}

// sub returns h minus base (bucket by bucket; base nil: h).
func sub(h, base *dto.Histogram) *dto.Histogram {
	if base == nil || len(base.Bucket) != len(h.Bucket) || base.GetSampleCount() > h.GetSampleCount() {
		return h
	}
	out := &dto.Histogram{SampleCount: ptr(h.GetSampleCount() - base.GetSampleCount()), SampleSum: ptr(h.GetSampleSum() - base.GetSampleSum())}
	for i, b := range h.Bucket {
		c := b.GetCumulativeCount()
		if bc := base.Bucket[i].GetCumulativeCount(); bc <= c {
			c -= bc
		}
		out.Bucket = append(out.Bucket, &dto.Bucket{UpperBound: ptr(b.GetUpperBound()), CumulativeCount: ptr(c)})
	}
	return out
}

func labels(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

// merge adds h into hists[name][label] (same bucket bounds assumed).
func merge(hists map[string]map[string]*dto.Histogram, name, label string, h *dto.Histogram) {
	if h == nil {
		return
	}
	if hists[name] == nil {
		hists[name] = map[string]*dto.Histogram{}
	}
	cur := hists[name][label]
	if cur == nil {
		cp := &dto.Histogram{SampleCount: new(uint64), SampleSum: new(float64)}
		for _, b := range h.GetBucket() {
			cp.Bucket = append(cp.Bucket, &dto.Bucket{UpperBound: ptr(b.GetUpperBound()), CumulativeCount: new(uint64)})
		}
		hists[name][label] = cp
		cur = cp
	}
	*cur.SampleCount += h.GetSampleCount()
	*cur.SampleSum += h.GetSampleSum()
	for i, b := range h.GetBucket() {
		if i < len(cur.Bucket) && cur.Bucket[i].GetUpperBound() == b.GetUpperBound() {
			*cur.Bucket[i].CumulativeCount += b.GetCumulativeCount()
		}
	}
}

func ptr[T any](v T) *T { return &v }

// quantile estimates the q-quantile of h by linear interpolation within
// its buckets, as Prometheus's histogram_quantile does; 0 without samples.
// Beyond the last finite bucket it answers that bucket's upper bound.
func quantile(q float64, h *dto.Histogram) float64 {
	total := float64(h.GetSampleCount())
	if total == 0 {
		return 0
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for _, b := range h.GetBucket() {
		ub, c := b.GetUpperBound(), float64(b.GetCumulativeCount())
		if math.IsInf(ub, +1) {
			return prevBound
		}
		if c >= rank {
			if c == prevCount {
				return ub
			}
			return prevBound + (ub-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = ub, c
	}
	return prevBound
}

// RecentOrder is one line of GET /v1/dashboard/orders.
type RecentOrder struct {
	OrderID            string    `json:"orderId"`
	UserID             string    `json:"userId"`
	Status             string    `json:"status"`
	CancellationReason string    `json:"cancellationReason,omitempty"`
	Total              string    `json:"total"`
	Currency           string    `json:"currency"`
	CorrelationID      string    `json:"correlationId"`
	PlacedAt           time.Time `json:"placedAt"`
	UpdatedAt          time.Time `json:"updatedAt"`
}

// tailPage and tailPages bound one catch-up of the order tail: a request
// reads at most tailPages×tailPage events (a long history is caught up
// over several requests).
const (
	tailPage  = 1000
	tailPages = 20
	maxRecent = 100
)

// OrdersHandler serves GET /v1/dashboard/orders?limit= (1–100, default 20):
// the orders with the latest events, newest first.
func (d *Dashboard) OrdersHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := 20
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxRecent {
				writeJSON(w, http.StatusBadRequest, map[string]string{"title": "Bad Request", "detail": "limit must be an integer from 1 to 100"})
				return
			}
			limit = n
		}
		orders, err := d.Recent(r.Context(), limit)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"title": "Internal Server Error", "detail": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"orders": orders})
	})
}

// Recent returns up to limit orders with the latest events, newest first.
func (d *Dashboard) Recent(ctx context.Context, limit int) ([]RecentOrder, error) {
	out := []RecentOrder{}
	if d.cfg.Orders == nil {
		return out, nil
	}
	ids, err := d.tail(ctx, limit)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		v, err := d.cfg.Orders.Get(ctx, id)
		if err != nil {
			continue // not an order aggregate we can fold; skip it
		}
		out = append(out, RecentOrder{OrderID: v.OrderID, UserID: v.UserID, Status: v.Status, CancellationReason: v.CancellationReason,
			Total: v.Total, Currency: v.Currency, CorrelationID: v.CorrelationID, PlacedAt: v.PlacedAt, UpdatedAt: v.UpdatedAt})
	}
	return out, nil
}

// tail reads the event store from its cursor and returns the ids of the
// limit orders with the latest events.
func (d *Dashboard) tail(ctx context.Context, limit int) ([]string, error) {
	d.tailMu.Lock()
	defer d.tailMu.Unlock()
	store := d.cfg.Orders.Store()
	for range tailPages {
		recs, err := store.ReadAll(ctx, d.cursor, tailPage)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			if id, ok := strings.CutPrefix(rec.StreamID, "order-"); ok {
				d.last[id] = rec.Position
			}
			d.cursor = rec.Position
		}
		if len(recs) < tailPage {
			break
		}
	}
	type idPos struct {
		id  string
		pos int64
	}
	all := make([]idPos, 0, len(d.last))
	for id, pos := range d.last {
		all = append(all, idPos{id, pos})
	}
	slices.SortFunc(all, func(a, b idPos) int { return cmp.Compare(b.pos, a.pos) })
	if len(all) > maxRecent { // forget the older ones: the map stays bounded
		for _, x := range all[maxRecent:] {
			delete(d.last, x.id)
		}
		all = all[:maxRecent]
	}
	ids := []string{}
	for i := 0; i < len(all) && i < limit; i++ {
		ids = append(ids, all[i].id)
	}
	return ids, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
