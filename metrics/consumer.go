package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
)

// StatsSource is what ConsumerMetrics reads: a consumer.Runner. Group and
// Stats must be safe to call concurrently with the runner's work.
type StatsSource interface {
	Group() string
	Stats() consumer.Stats
}

var _ StatsSource = (*consumer.Runner)(nil)

// ConsumerMetrics exports the counters of consumer runners and measures
// their handlers.
//
// Counters, read from each runner's Stats when scraped (label group):
//
//	causeway_consumer_events_handled_total{group}
//	causeway_consumer_events_skipped_total{group}
//	causeway_consumer_events_parked_total{group}
//	causeway_consumer_events_dead_lettered_total{group}
//	causeway_consumer_handler_failures_total{group}
//	causeway_consumer_batches_total{group}
//	causeway_consumer_rebalances_total{group}
//	causeway_consumer_partitions_assigned_total{group}
//	causeway_consumer_partitions_revoked_total{group}
//	causeway_consumer_partitions_lost_total{group}
//	causeway_consumer_replays_total{group,result}
//
// They are accumulated from the differences between successive Stats, so
// they never go down when a runner is removed or replaced by a new one of
// the same group, and several runners of one group add up.
//
// Histograms, fed by Middleware (labels group, topic):
//
//	causeway_consumer_handler_duration_seconds{group,topic}
//	causeway_consumer_event_latency_seconds{group,topic}
//
// It is safe for concurrent use.
type ConsumerMetrics struct {
	mu      sync.Mutex
	sources map[StatsSource]consumer.Stats // last snapshot read
	totals  map[string]*consumerTotals     // by group

	handled, skipped, parked, dead, failures, batches, rebalances, replays *prometheus.Desc
	partsAssigned, partsRevoked, partsLost, assigned                       *prometheus.Desc

	handlerDur   *prometheus.HistogramVec
	latency      *prometheus.HistogramVec
	rebalanceDur *prometheus.HistogramVec
}

type consumerTotals struct {
	handled, skipped, parked, dead, failures, batches, rebalances int64
	partsAssigned, partsRevoked, partsLost                        int64
	replays                                                       map[string]int64
}

var _ prometheus.Collector = (*ConsumerMetrics)(nil)

// NewConsumerMetrics returns ConsumerMetrics registered with reg (nil: the
// caller registers it).
func NewConsumerMetrics(reg prometheus.Registerer) (*ConsumerMetrics, error) {
	g := []string{"group"}
	m := &ConsumerMetrics{
		sources: make(map[StatsSource]consumer.Stats),
		totals:  make(map[string]*consumerTotals),
		handled: prometheus.NewDesc("causeway_consumer_events_handled_total",
			"Events handled (or skipped as duplicates) in committed transactions.", g, nil),
		skipped: prometheus.NewDesc("causeway_consumer_events_skipped_total",
			"Events of types the group's handler ignores (consumer.WithEventTypes), acknowledged without a transaction.", g, nil),
		parked: prometheus.NewDesc("causeway_consumer_events_parked_total",
			"Events parked behind a dead letter of their key.", g, nil),
		dead: prometheus.NewDesc("causeway_consumer_events_dead_lettered_total",
			"Dead letters produced to dlq.<group>.", g, nil),
		failures: prometheus.NewDesc("causeway_consumer_handler_failures_total",
			"Handler attempts that failed (errors and panics); retried or dead-lettered.", g, nil),
		batches: prometheus.NewDesc("causeway_consumer_batches_total",
			"Committed batch transactions.", g, nil),
		rebalances: prometheus.NewDesc("causeway_consumer_rebalances_total",
			"Partition assignment, revocation and loss callbacks.", g, nil),
		partsAssigned: prometheus.NewDesc("causeway_consumer_partitions_assigned_total",
			"Partitions assigned to the group's runners (their topics and the replay topic).", g, nil),
		partsRevoked: prometheus.NewDesc("causeway_consumer_partitions_revoked_total",
			"Partitions revoked from the group's runners, by rebalances and by leaving the group.", g, nil),
		partsLost: prometheus.NewDesc("causeway_consumer_partitions_lost_total",
			"Partitions lost by the group's runners (session expired or fenced; work abandoned).", g, nil),
		assigned: prometheus.NewDesc("causeway_consumer_assigned_partitions",
			"Partitions the group's runners in this process hold now.", g, nil),
		replays: prometheus.NewDesc("causeway_consumer_replays_total",
			"Replay-topic records applied, by result (resolved, failed, drain-failed, stale, invalid).",
			[]string{"group", "result"}, nil),
		handlerDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "causeway_consumer_handler_duration_seconds",
			Help:    "Time spent in the handler per event attempt (inside the batch transaction).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"group", "topic"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "causeway_consumer_event_latency_seconds",
			Help:    "Time from the record's timestamp (when it was published) to the end of its successful handling.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"group", "topic"}),
		rebalanceDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "causeway_consumer_rebalance_duration_seconds",
			Help:    "Rebalances as each runner saw them: from the end of its group session (or its start) to the end of the assignment callback that follows.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, g),
	}
	if reg != nil {
		if err := reg.Register(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Add starts exporting src's counters.
func (m *ConsumerMetrics) Add(src StatsSource) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sources[src]; ok {
		return
	}
	m.sources[src] = consumer.Stats{}
	m.total(src.Group())
}

// Remove stops reading src, keeping what it counted in the totals.
func (m *ConsumerMetrics) Remove(src StatsSource) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sources[src]; ok {
		m.accumulate(src)
		delete(m.sources, src)
	}
}

func (m *ConsumerMetrics) total(group string) *consumerTotals {
	t := m.totals[group]
	if t == nil {
		t = &consumerTotals{replays: make(map[string]int64)}
		m.totals[group] = t
	}
	return t
}

// delta is the increase from last to cur; a counter that went down (a
// restarted source) counts from 0.
func delta(last, cur int64) int64 {
	if cur < last {
		return cur
	}
	return cur - last
}

// accumulate adds src's increase since its last snapshot. m.mu is held.
func (m *ConsumerMetrics) accumulate(src StatsSource) {
	last := m.sources[src]
	cur := src.Stats()
	t := m.total(src.Group())
	t.handled += delta(last.Handled, cur.Handled)
	t.skipped += delta(last.Skipped, cur.Skipped)
	t.parked += delta(last.Parked, cur.Parked)
	t.dead += delta(last.DeadLetters, cur.DeadLetters)
	t.failures += delta(last.Failures, cur.Failures)
	t.batches += delta(last.Batches, cur.Batches)
	t.rebalances += delta(last.Rebalances, cur.Rebalances)
	t.partsAssigned += delta(last.PartitionsAssigned, cur.PartitionsAssigned)
	t.partsRevoked += delta(last.PartitionsRevoked, cur.PartitionsRevoked)
	t.partsLost += delta(last.PartitionsLost, cur.PartitionsLost)
	for r, n := range cur.Replays {
		t.replays[r] += delta(last.Replays[r], n)
	}
	m.sources[src] = cur
}

// Describe sends the descriptors of the collector's metrics.
func (m *ConsumerMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.handled, m.skipped, m.parked, m.dead, m.failures, m.batches, m.rebalances, m.replays,
		m.partsAssigned, m.partsRevoked, m.partsLost, m.assigned} {
		ch <- d
	}
	m.handlerDur.Describe(ch)
	m.latency.Describe(ch)
	m.rebalanceDur.Describe(ch)
}

// Collect reads every source's Stats and sends the metrics.
func (m *ConsumerMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	held := make(map[string]int64, len(m.totals))
	for src := range m.sources {
		m.accumulate(src)
		held[src.Group()] += m.sources[src].Assigned
	}
	for g, t := range m.totals {
		for _, c := range []struct {
			d *prometheus.Desc
			v int64
		}{{m.handled, t.handled}, {m.skipped, t.skipped}, {m.parked, t.parked}, {m.dead, t.dead}, {m.failures, t.failures},
			{m.batches, t.batches}, {m.rebalances, t.rebalances},
			{m.partsAssigned, t.partsAssigned}, {m.partsRevoked, t.partsRevoked}, {m.partsLost, t.partsLost}} {
			ch <- prometheus.MustNewConstMetric(c.d, prometheus.CounterValue, float64(c.v), g)
		}
		ch <- prometheus.MustNewConstMetric(m.assigned, prometheus.GaugeValue, float64(held[g]), g)
		for r, n := range t.replays {
			ch <- prometheus.MustNewConstMetric(m.replays, prometheus.CounterValue, float64(n), g, r)
		}
	}
	m.mu.Unlock()
	m.handlerDur.Collect(ch)
	m.latency.Collect(ch)
	m.rebalanceDur.Collect(ch)
}

// RebalanceObserver returns the function to give consumer.WithRebalanceObserver
// for group: it observes causeway_consumer_rebalance_duration_seconds.
func (m *ConsumerMetrics) RebalanceObserver(group string) func(time.Duration) {
	h := m.rebalanceDur.WithLabelValues(group)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

// Middleware returns consumer middleware for group that observes each
// handler attempt's duration and, when the handler succeeds, the latency
// from the record's timestamp (set when it was produced) to now. Put it
// innermost (last in consumer.WithMiddleware) to time the handler alone.
// A batch that is rolled back and handled again is observed again.
func (m *ConsumerMetrics) Middleware(group string) consumer.Middleware {
	return func(next consumer.Handler) consumer.Handler {
		return consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, msg *consumer.Message) error {
			start := time.Now()
			err := next.Handle(ctx, tx, msg)
			end := time.Now()
			m.handlerDur.WithLabelValues(group, msg.Topic).Observe(end.Sub(start).Seconds())
			if err == nil && !msg.Timestamp.IsZero() {
				m.latency.WithLabelValues(group, msg.Topic).Observe(max(0, end.Sub(msg.Timestamp).Seconds()))
			}
			return err
		})
	}
}
