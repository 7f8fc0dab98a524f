package metrics_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/kafka"
)

// testCtx bounds a whole test, so a hang fails instead of blocking.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fixture is an embedded broker with topic "events" (2 partitions) and
// dlq.g1 (1 partition), and clients for it.
type fixture struct {
	broker *kafka.Broker
	adm    *kadm.Client
	client *kgo.Client // producer with manual partitioning
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := testCtx(t)
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(
		kafka.TopicSpec{Name: "events", Partitions: 2, ReplicationFactor: -1},
		kafka.DeadLetterTopicSpec("g1", 1, -1),
	))
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(b.Close)
	adm, err := kafka.NewAdmin(b.ClientConfig())
	if err != nil {
		t.Fatalf("NewAdmin: %v", err)
	}
	t.Cleanup(adm.Close)
	cl, err := kafka.NewClient(b.ClientConfig(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(cl.Close)
	return &fixture{broker: b, adm: adm, client: cl}
}

// produce writes one record per timestamp to topic/partition, in order, and
// waits for the acks.
func (f *fixture) produce(t *testing.T, topic string, partition int32, stamps ...time.Time) {
	t.Helper()
	recs := make([]*kgo.Record, len(stamps))
	for i, ts := range stamps {
		recs[i] = &kgo.Record{Topic: topic, Partition: partition, Value: []byte("x"), Timestamp: ts}
	}
	if err := f.client.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// commit commits offsets of group on topic, partition → offset.
func (f *fixture) commit(t *testing.T, group, topic string, offs map[int32]int64) {
	t.Helper()
	os := make(kadm.Offsets)
	for p, at := range offs {
		os.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
	}
	resp, err := f.adm.CommitOffsets(testCtx(t), group, os)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("commit %s: %v", group, err)
	}
}

// minutesAgo returns timestamps n, n-1, … minutes before base, at
// millisecond precision (what Kafka keeps).
func minutesAgo(base time.Time, ns ...int) []time.Time {
	out := make([]time.Time, len(ns))
	for i, n := range ns {
		out[i] = base.Add(-time.Duration(n) * time.Minute).Truncate(time.Millisecond)
	}
	return out
}

// seedLag produces to "events" and dlq.g1 and commits for groups g1 and g2:
//
//	events/0: 10 records, 100 … 91 minutes old; g1 committed 3, g2 0
//	events/1: 4 records, 50 … 47 minutes old; g1 committed 4 (caught up)
//	dlq.g1/0: 3 records, 30 … 28 minutes old
//
// g2 has committed nothing on events/1. It returns the timestamps of
// events/0, events/1 and dlq.g1/0.
func (f *fixture) seedLag(t *testing.T) (p0, p1, dlq []time.Time) {
	t.Helper()
	now := time.Now()
	p0 = minutesAgo(now, 100, 99, 98, 97, 96, 95, 94, 93, 92, 91)
	f.produce(t, "events", 0, p0...)
	p1 = minutesAgo(now, 50, 49, 48, 47)
	f.produce(t, "events", 1, p1...)
	dlq = minutesAgo(now, 30, 29, 28)
	f.produce(t, kafka.DeadLetterTopic("g1"), 0, dlq...)
	f.commit(t, "g1", "events", map[int32]int64{0: 3, 1: 4})
	f.commit(t, "g2", "events", map[int32]int64{0: 0})
	return p0, p1, dlq
}

// gather returns the text exposition of the named metric families of g,
// like prometheus/testutil's GatherAndCompare input.
func gather(t *testing.T, g prometheus.Gatherer, names ...string) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	want := make(map[string]bool)
	for _, n := range names {
		want[n] = true
	}
	var b strings.Builder
	for _, mf := range mfs {
		if !want[mf.GetName()] {
			continue
		}
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatalf("MetricFamilyToText: %v", err)
		}
	}
	return b.String()
}

// compare fails the test when the named families of g are not want
// (text exposition; leading tabs and blank lines of want are ignored).
func compare(t *testing.T, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	var lines []string
	for _, l := range strings.Split(want, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	w := strings.Join(lines, "\n") + "\n"
	if got := gather(t, g, names...); got != w {
		t.Errorf("metrics:\n got:\n%s\nwant:\n%s", got, w)
	}
}

// value returns the value of the gauge or counter name with the given
// label values (name=value pairs), failing the test when absent.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}
