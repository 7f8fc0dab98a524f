package metrics

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Defaults of LagCollector.
const (
	// DefaultLagMinInterval is the least time between two measurements;
	// scrapes in between get the cached one.
	DefaultLagMinInterval = 10 * time.Second
	// DefaultLagTimeout bounds one measurement.
	DefaultLagTimeout = 10 * time.Second
)

// LagOption configures a LagCollector.
type LagOption func(*lagConfig)

type lagConfig struct {
	groups      []string
	minInterval time.Duration
	timeout     time.Duration
	log         *slog.Logger
}

// LagGroups restricts the collector to these consumer groups (default: every
// group, and every dlq.* topic).
func LagGroups(groups ...string) LagOption {
	return func(c *lagConfig) { c.groups = append([]string(nil), groups...) }
}

// LagMinInterval sets the least time between two measurements (default
// DefaultLagMinInterval); scrapes in between are served from the cache, so
// any number of scrapers cost the broker one measurement per interval.
func LagMinInterval(d time.Duration) LagOption {
	return func(c *lagConfig) { c.minInterval = d }
}

// LagTimeout bounds one measurement (default DefaultLagTimeout).
func LagTimeout(d time.Duration) LagOption { return func(c *lagConfig) { c.timeout = d } }

// LagLogger sets the logger of measurement errors (nil: discard).
func LagLogger(l *slog.Logger) LagOption { return func(c *lagConfig) { c.log = l } }

// LagCollector is a prometheus.Collector of consumer lag and dead-letter
// depth, measured with Describe when scraped, at most once per min interval.
//
// Metrics (partition is a decimal label):
//
//	causeway_consumer_group_members{group}
//	causeway_consumer_committed_offset{group,topic,partition}
//	causeway_consumer_end_offset{group,topic,partition}
//	causeway_consumer_lag_records{group,topic,partition}
//	causeway_consumer_lag_seconds{group,topic,partition}
//	causeway_dlq_depth_records{group}
//	causeway_dlq_oldest_age_seconds{group}
//	causeway_lag_collect_errors_total
//	causeway_lag_collect_duration_seconds
//
// A series whose value is unknown (no commit, a list error, a record that
// could not be read in time) is left out of the scrape rather than
// reported as 0. A failed measurement counts in
// causeway_lag_collect_errors_total, and what it measured is still
// reported.
//
// It is safe for concurrent use.
type LagCollector struct {
	adm    *kadm.Client
	client *kgo.Client
	cfg    lagConfig

	mu     sync.Mutex
	last   *Snapshot
	lastAt time.Time
	took   time.Duration
	errs   atomic.Uint64

	members, committed, end, lag, lagSeconds, dlqDepth, dlqAge, errsDesc, durDesc *prometheus.Desc
}

var _ prometheus.Collector = (*LagCollector)(nil)

// NewLagCollector returns a LagCollector that measures with adm and client
// (see Lag for how client is used) and registers it with reg (nil: the
// caller registers it).
func NewLagCollector(reg prometheus.Registerer, adm *kadm.Client, client *kgo.Client, opts ...LagOption) (*LagCollector, error) {
	cfg := lagConfig{minInterval: DefaultLagMinInterval, timeout: DefaultLagTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	gtp := []string{"group", "topic", "partition"}
	c := &LagCollector{
		adm: adm, client: client, cfg: cfg,
		members: prometheus.NewDesc("causeway_consumer_group_members",
			"Members of the consumer group.", []string{"group"}, nil),
		committed: prometheus.NewDesc("causeway_consumer_committed_offset",
			"Committed offset of the group on the partition: the next record it will consume.", gtp, nil),
		end: prometheus.NewDesc("causeway_consumer_end_offset",
			"End offset (high watermark) of a partition the group consumes.", gtp, nil),
		lag: prometheus.NewDesc("causeway_consumer_lag_records",
			"Records of the partition the group has not consumed yet (end offset minus committed offset).", gtp, nil),
		lagSeconds: prometheus.NewDesc("causeway_consumer_lag_seconds",
			"Age of the oldest record the group has not consumed yet (0 when caught up).", gtp, nil),
		dlqDepth: prometheus.NewDesc("causeway_dlq_depth_records",
			"Records retained in the group's dead-letter topic dlq.<group> (end minus start offsets).", []string{"group"}, nil),
		dlqAge: prometheus.NewDesc("causeway_dlq_oldest_age_seconds",
			"Age of the oldest retained record in the group's dead-letter topic (0 when empty).", []string{"group"}, nil),
		errsDesc: prometheus.NewDesc("causeway_lag_collect_errors_total",
			"Lag measurements that failed, in part or in whole.", nil, nil),
		durDesc: prometheus.NewDesc("causeway_lag_collect_duration_seconds",
			"Duration of the last lag measurement.", nil, nil),
	}
	if reg != nil {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Describe sends the descriptors of the collector's metrics.
func (c *LagCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.committed, c.end, c.lag, c.lagSeconds,
		c.dlqDepth, c.dlqAge, c.errsDesc, c.durDesc} {
		ch <- d
	}
}

// Snapshot returns the cached measurement, taking a new one first if the
// cache is older than the min interval. The result must not be modified.
func (c *LagCollector) Snapshot(ctx context.Context) *Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.lastAt.IsZero() && time.Since(c.lastAt) < c.cfg.minInterval {
		return c.last
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	start := time.Now()
	s, err := Describe(ctx, c.adm, c.client, c.cfg.groups...)
	c.took = time.Since(start)
	if err != nil {
		c.errs.Add(1)
		c.cfg.log.Warn("lag measurement failed", "err", err)
	}
	c.last, c.lastAt = s, time.Now()
	return s
}

// Collect measures (or reuses the cached measurement) and sends the metrics.
func (c *LagCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.Snapshot(context.Background())
	c.mu.Lock()
	took := c.took
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.errsDesc, prometheus.CounterValue, float64(c.errs.Load()))
	ch <- prometheus.MustNewConstMetric(c.durDesc, prometheus.GaugeValue, took.Seconds())
	if s == nil {
		return
	}
	for _, g := range s.Groups {
		if g.Err == nil {
			ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(len(g.Members)), g.Group)
		}
	}
	for _, p := range s.Partitions {
		if p.Err != nil {
			continue
		}
		lv := []string{p.Group, p.Topic, strconv.Itoa(int(p.Partition))}
		if p.Committed >= 0 {
			ch <- prometheus.MustNewConstMetric(c.committed, prometheus.GaugeValue, float64(p.Committed), lv...)
		}
		if p.End >= 0 {
			ch <- prometheus.MustNewConstMetric(c.end, prometheus.GaugeValue, float64(p.End), lv...)
		}
		if p.Lag >= 0 {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(p.Lag), lv...)
		}
		if p.LagSecondsKnown {
			ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, p.LagSeconds, lv...)
		}
	}
	for _, d := range s.DeadLetters {
		ch <- prometheus.MustNewConstMetric(c.dlqDepth, prometheus.GaugeValue, float64(d.Depth), d.Group)
		if d.OldestKnown {
			ch <- prometheus.MustNewConstMetric(c.dlqAge, prometheus.GaugeValue, d.OldestAgeSeconds, d.Group)
		}
	}
}
