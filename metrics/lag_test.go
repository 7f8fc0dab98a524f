package metrics_test

import (
	"testing"
	"time"

	"github.com/causeway-dev/causeway/metrics"
)

// find returns the row of group/topic/partition, failing the test if absent.
func find(t *testing.T, ls []metrics.PartitionLag, group, topic string, p int32) metrics.PartitionLag {
	t.Helper()
	for _, l := range ls {
		if l.Group == group && l.Topic == topic && l.Partition == p {
			return l
		}
	}
	t.Fatalf("no lag row for %s %s/%d in %+v", group, topic, p, ls)
	return metrics.PartitionLag{}
}

// checkAge checks that secs is the age of ts measured between before and
// after.
func checkAge(t *testing.T, what string, secs float64, ts, before, after time.Time) {
	t.Helper()
	lo, hi := before.Sub(ts).Seconds(), after.Sub(ts).Seconds()
	if secs < lo || secs > hi {
		t.Errorf("%s: lag seconds %.3f, want the age of %v, in [%.3f, %.3f]", what, secs, ts, lo, hi)
	}
}

func TestLagOffsetsAndSeconds(t *testing.T) {
	f := newFixture(t)
	p0, p1, _ := f.seedLag(t)

	before := time.Now()
	ls, err := metrics.Lag(testCtx(t), f.adm, f.client, "g1", "g2")
	after := time.Now()
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	if got, want := len(ls), 4; got != want {
		t.Fatalf("got %d rows, want %d: %+v", got, want, ls)
	}
	for _, tc := range []struct {
		group     string
		p         int32
		committed int64
		end, lag  int64
		oldest    time.Time
	}{
		{"g1", 0, 3, 10, 7, p0[3]},
		{"g1", 1, 4, 4, 0, time.Time{}},
		{"g2", 0, 0, 10, 10, p0[0]},
		{"g2", 1, -1, 4, 4, p1[0]}, // nothing committed: lag from the start
	} {
		l := find(t, ls, tc.group, "events", tc.p)
		if l.Err != nil {
			t.Errorf("%s/%d: err %v", tc.group, tc.p, l.Err)
		}
		if l.Committed != tc.committed || l.End != tc.end || l.Lag != tc.lag {
			t.Errorf("%s/%d: committed %d end %d lag %d, want %d %d %d",
				tc.group, tc.p, l.Committed, l.End, l.Lag, tc.committed, tc.end, tc.lag)
		}
		if !l.LagSecondsKnown {
			t.Errorf("%s/%d: lag seconds unknown", tc.group, tc.p)
			continue
		}
		if tc.lag == 0 {
			if l.LagSeconds != 0 || !l.Oldest.IsZero() {
				t.Errorf("%s/%d: caught up but lag seconds %v, oldest %v", tc.group, tc.p, l.LagSeconds, l.Oldest)
			}
			continue
		}
		if !l.Oldest.Equal(tc.oldest) {
			t.Errorf("%s/%d: oldest unconsumed %v, want %v", tc.group, tc.p, l.Oldest, tc.oldest)
		}
		checkAge(t, tc.group, l.LagSeconds, tc.oldest, before, after)
	}
	// g2 waits behind an older record than g1 on the same partition.
	if g1, g2 := find(t, ls, "g1", "events", 0), find(t, ls, "g2", "events", 0); g2.LagSeconds <= g1.LagSeconds {
		t.Errorf("g2 lag seconds %v not above g1's %v", g2.LagSeconds, g1.LagSeconds)
	}
}

func TestLagWithoutClientSkipsSeconds(t *testing.T) {
	f := newFixture(t)
	f.seedLag(t)
	ls, err := metrics.Lag(testCtx(t), f.adm, nil, "g1")
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	if l := find(t, ls, "g1", "events", 0); l.Lag != 7 || l.LagSecondsKnown {
		t.Errorf("lag %d, seconds known %v; want 7, false", l.Lag, l.LagSecondsKnown)
	}
}

func TestDescribeDeadLetters(t *testing.T) {
	f := newFixture(t)
	_, _, dlq := f.seedLag(t)

	before := time.Now()
	s, err := metrics.Describe(testCtx(t), f.adm, f.client)
	after := time.Now()
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	var got *metrics.DeadLetterQueue
	for i := range s.DeadLetters {
		if s.DeadLetters[i].Group == "g1" {
			got = &s.DeadLetters[i]
		}
	}
	if got == nil {
		t.Fatalf("no dead-letter queue of g1 in %+v", s.DeadLetters)
	}
	if got.Topic != "dlq.g1" || got.Depth != 3 {
		t.Errorf("dlq %s depth %d, want dlq.g1 3", got.Topic, got.Depth)
	}
	if !got.OldestKnown || !got.Oldest.Equal(dlq[0]) {
		t.Fatalf("oldest letter %v (known %v), want %v", got.Oldest, got.OldestKnown, dlq[0])
	}
	checkAge(t, "dlq", got.OldestAgeSeconds, dlq[0], before, after)
	// Every group is described, with its state.
	states := map[string]string{}
	for _, g := range s.Groups {
		states[g.Group] = g.State
	}
	for _, g := range []string{"g1", "g2"} {
		if states[g] != "Empty" {
			t.Errorf("group %s state %q, want Empty (groups %v)", g, states[g], states)
		}
	}
}

func TestDescribeGroupWithoutDeadLetterTopic(t *testing.T) {
	f := newFixture(t)
	f.seedLag(t)
	s, err := metrics.Describe(testCtx(t), f.adm, f.client, "g2")
	if err != nil {
		t.Fatalf("Describe: %v (a missing dlq.g2 is not an error)", err)
	}
	if len(s.DeadLetters) != 0 {
		t.Errorf("dead letters %+v, want none: dlq.g2 does not exist", s.DeadLetters)
	}
}
