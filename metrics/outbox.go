package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/outbox"
)

// DefaultBacklogMinInterval is the least time between two outbox backlog
// queries; scrapes in between get the cached count.
const DefaultBacklogMinInterval = 5 * time.Second

// Backlogger is what OutboxMetrics queries for the backlog: an
// *outbox.Relay.
type Backlogger interface {
	Backlog(ctx context.Context) (int64, error)
}

var _ Backlogger = (*outbox.Relay)(nil)

// OutboxMetrics exports the outbox relays' measurements. Each service (one
// outbox table, one relay) is a label value.
//
//	causeway_outbox_published_total{service,topic}
//	causeway_outbox_failed_total{service,topic}
//	causeway_outbox_relay_latency_seconds{service,topic}  histogram
//	causeway_outbox_backlog_rows{service}
//
// Published, failed and the latency come from the relay's Observer (pass
// Observer(service) to outbox.WithObserver); the backlog is counted with
// Backlog at scrape time, at most once per DefaultBacklogMinInterval per
// service, and left out of the scrape while the query fails.
//
// It is safe for concurrent use.
type OutboxMetrics struct {
	published, failed *prometheus.CounterVec
	latency           *prometheus.HistogramVec
	backlogDesc       *prometheus.Desc

	mu       sync.Mutex
	backlogs map[string]*cachedBacklog
	log      *slog.Logger
}

type cachedBacklog struct {
	src Backlogger
	n   int64
	ok  bool
	at  time.Time
}

var _ prometheus.Collector = (*OutboxMetrics)(nil)

// NewOutboxMetrics returns OutboxMetrics registered with reg (nil: the
// caller registers it).
func NewOutboxMetrics(reg prometheus.Registerer) (*OutboxMetrics, error) {
	st := []string{"service", "topic"}
	m := &OutboxMetrics{
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "causeway_outbox_published_total",
			Help: "Outbox rows the broker acknowledged and the relay deleted.",
		}, st),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "causeway_outbox_failed_total",
			Help: "Outbox records the producer failed to deliver (kept and retried).",
		}, st),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "causeway_outbox_relay_latency_seconds",
			Help:    "Time from an outbox row's creation (its transaction) to the broker's acknowledgement.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, st),
		backlogDesc: prometheus.NewDesc("causeway_outbox_backlog_rows",
			"Rows in the service's outbox table: committed and not yet acknowledged by the broker.",
			[]string{"service"}, nil),
		backlogs: make(map[string]*cachedBacklog),
		log:      slog.New(slog.DiscardHandler),
	}
	if reg != nil {
		if err := reg.Register(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Observer returns the outbox.Observer of service's relay.
func (m *OutboxMetrics) Observer(service string) outbox.Observer {
	return outboxObserver{m: m, service: service}
}

// AddBacklog exports the backlog of service's outbox, counted by src.
func (m *OutboxMetrics) AddBacklog(service string, src Backlogger) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.backlogs[service] = &cachedBacklog{src: src}
}

type outboxObserver struct {
	m       *OutboxMetrics
	service string
}

func (o outboxObserver) Published(topic string, latency time.Duration) {
	o.m.published.WithLabelValues(o.service, topic).Inc()
	o.m.latency.WithLabelValues(o.service, topic).Observe(max(0, latency.Seconds()))
}

func (o outboxObserver) Failed(topic string, _ error) {
	o.m.failed.WithLabelValues(o.service, topic).Inc()
}

// Describe sends the descriptors of the collector's metrics.
func (m *OutboxMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.published.Describe(ch)
	m.failed.Describe(ch)
	m.latency.Describe(ch)
	ch <- m.backlogDesc
}

// Collect sends the metrics, counting backlogs whose cache is stale.
func (m *OutboxMetrics) Collect(ch chan<- prometheus.Metric) {
	m.published.Collect(ch)
	m.failed.Collect(ch)
	m.latency.Collect(ch)
	m.mu.Lock()
	defer m.mu.Unlock()
	for svc, b := range m.backlogs {
		if b.at.IsZero() || time.Since(b.at) >= DefaultBacklogMinInterval {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n, err := b.src.Backlog(ctx)
			cancel()
			b.n, b.ok, b.at = n, err == nil, time.Now()
			if err != nil {
				m.log.Warn("outbox backlog", "service", svc, "err", err)
			}
		}
		if b.ok {
			ch <- prometheus.MustNewConstMetric(m.backlogDesc, prometheus.GaugeValue, float64(b.n), svc)
		}
	}
}
