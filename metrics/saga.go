package metrics

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultSagaStatesMinInterval is the least time between two calls of a
// saga state counter; scrapes in between get the cached counts.
const DefaultSagaStatesMinInterval = 5 * time.Second

// StateCounter counts a saga's instances by state, e.g. an adapter of
// saga.Orchestrator.Counts. It is called at scrape time, at most once per
// DefaultSagaStatesMinInterval, and must honour ctx.
type StateCounter func(ctx context.Context) (map[string]int, error)

// SagaMetrics measures sagas, orchestrated or choreographed.
//
//	causeway_saga_duration_seconds{saga,outcome}  histogram
//	causeway_saga_instances{saga,state}
//
// saga names the flow (e.g. "order"); outcome is its terminal result (e.g.
// "shipped", "cancelled", "compensated", "failed"); state a saga status.
// Keep all three to small fixed sets. It is safe for concurrent use.
type SagaMetrics struct {
	duration  *prometheus.HistogramVec
	instances *prometheus.Desc

	mu       sync.Mutex
	counters map[string]*cachedStates
	log      *slog.Logger
}

type cachedStates struct {
	fn     StateCounter
	counts map[string]int
	ok     bool
	at     time.Time
}

var _ prometheus.Collector = (*SagaMetrics)(nil)

// NewSagaMetrics returns SagaMetrics registered with reg (nil: the caller
// registers it).
func NewSagaMetrics(reg prometheus.Registerer) (*SagaMetrics, error) {
	m := &SagaMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "causeway_saga_duration_seconds",
			Help:    "Time from a saga's start (order placed) to its terminal state, by outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"saga", "outcome"}),
		instances: prometheus.NewDesc("causeway_saga_instances",
			"Saga instances by state.", []string{"saga", "state"}, nil),
		counters: make(map[string]*cachedStates),
		log:      slog.New(slog.DiscardHandler),
	}
	if reg != nil {
		if err := reg.Register(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveDuration records one saga that reached its terminal outcome after d.
func (m *SagaMetrics) ObserveDuration(saga, outcome string, d time.Duration) {
	m.duration.WithLabelValues(saga, outcome).Observe(max(0, d.Seconds()))
}

// SetStateCounter makes fn the source of saga's instances by state
// (replacing an earlier one).
func (m *SagaMetrics) SetStateCounter(saga string, fn StateCounter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counters[saga] = &cachedStates{fn: fn}
}

// Describe sends the descriptors of the collector's metrics.
func (m *SagaMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.duration.Describe(ch)
	ch <- m.instances
}

// Collect sends the metrics, calling state counters whose cache is stale.
func (m *SagaMetrics) Collect(ch chan<- prometheus.Metric) {
	m.duration.Collect(ch)
	m.mu.Lock()
	defer m.mu.Unlock()
	for saga, c := range m.counters {
		if c.at.IsZero() || time.Since(c.at) >= DefaultSagaStatesMinInterval {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			counts, err := c.fn(ctx)
			cancel()
			c.counts, c.ok, c.at = counts, err == nil, time.Now()
			if err != nil {
				m.log.Warn("saga state counts", "saga", saga, "err", err)
			}
		}
		if c.ok {
			for state, n := range c.counts {
				ch <- prometheus.MustNewConstMetric(m.instances, prometheus.GaugeValue, float64(n), saga, state)
			}
		}
	}
}
