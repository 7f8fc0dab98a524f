package metrics_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/causeway-dev/causeway/metrics"
)

func TestLagCollector(t *testing.T) {
	f := newFixture(t)
	p0, _, dlq := f.seedLag(t)
	reg := prometheus.NewRegistry()
	before := time.Now()
	if _, err := metrics.NewLagCollector(reg, f.adm, f.client, metrics.LagGroups("g1"),
		metrics.LagMinInterval(time.Hour)); err != nil {
		t.Fatalf("NewLagCollector: %v", err)
	}
	compare(t, reg, `
		# HELP causeway_consumer_committed_offset Committed offset of the group on the partition: the next record it will consume.
		# TYPE causeway_consumer_committed_offset gauge
		causeway_consumer_committed_offset{group="g1",partition="0",topic="events"} 3
		causeway_consumer_committed_offset{group="g1",partition="1",topic="events"} 4
		# HELP causeway_consumer_end_offset End offset (high watermark) of a partition the group consumes.
		# TYPE causeway_consumer_end_offset gauge
		causeway_consumer_end_offset{group="g1",partition="0",topic="events"} 10
		causeway_consumer_end_offset{group="g1",partition="1",topic="events"} 4
		# HELP causeway_consumer_group_members Members of the consumer group.
		# TYPE causeway_consumer_group_members gauge
		causeway_consumer_group_members{group="g1"} 0
		# HELP causeway_consumer_lag_records Records of the partition the group has not consumed yet (end offset minus committed offset).
		# TYPE causeway_consumer_lag_records gauge
		causeway_consumer_lag_records{group="g1",partition="0",topic="events"} 7
		causeway_consumer_lag_records{group="g1",partition="1",topic="events"} 0
		# HELP causeway_dlq_depth_records Records retained in the group's dead-letter topic dlq.<group> (end minus start offsets).
		# TYPE causeway_dlq_depth_records gauge
		causeway_dlq_depth_records{group="g1"} 3
		# HELP causeway_lag_collect_errors_total Lag measurements that failed, in part or in whole.
		# TYPE causeway_lag_collect_errors_total counter
		causeway_lag_collect_errors_total 0
	`, "causeway_consumer_committed_offset", "causeway_consumer_end_offset", "causeway_consumer_group_members",
		"causeway_consumer_lag_records", "causeway_dlq_depth_records", "causeway_lag_collect_errors_total")
	after := time.Now()

	checkAge(t, "p0", value(t, reg, "causeway_consumer_lag_seconds", "group", "g1", "partition", "0"), p0[3], before, after)
	if got := value(t, reg, "causeway_consumer_lag_seconds", "group", "g1", "partition", "1"); got != 0 {
		t.Errorf("caught-up partition: lag seconds %v, want 0", got)
	}
	checkAge(t, "dlq", value(t, reg, "causeway_dlq_oldest_age_seconds", "group", "g1"), dlq[0], before, after)

	// Within the min interval, scrapes are served from the cache: new
	// records do not show yet.
	f.produce(t, "events", 0, time.Now())
	if got := value(t, reg, "causeway_consumer_lag_records", "group", "g1", "partition", "0"); got != 7 {
		t.Errorf("cached lag %v, want 7 (the first measurement)", got)
	}
	// A collector without a min interval measures on every scrape.
	fresh := prometheus.NewRegistry()
	if _, err := metrics.NewLagCollector(fresh, f.adm, f.client, metrics.LagGroups("g1"),
		metrics.LagMinInterval(0)); err != nil {
		t.Fatalf("NewLagCollector: %v", err)
	}
	if got := value(t, fresh, "causeway_consumer_lag_records", "group", "g1", "partition", "0"); got != 8 {
		t.Errorf("fresh lag %v, want 8", got)
	}
}
