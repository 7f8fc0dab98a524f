package consumer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func batch(t testing.TB, topic string, from, to, keys int) []*kgo.Record {
	var recs []*kgo.Record
	for s := from; s < to; s++ {
		for k := 0; k < keys; k++ {
			key := fmt.Sprintf("k%02d", k)
			recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(key), Value: envelope(t, id(key, s), s)})
		}
	}
	return recs
}

func newRunner(t testing.TB, db *sqldb.DB, addr, group, topic string, opts ...consumer.Opt) *consumer.Runner {
	t.Helper()
	opts = append([]consumer.Opt{consumer.WithKafkaOpts(kafkaOpts(addr)...), consumer.WithBatchMax(50)}, opts...)
	r, err := consumer.New(db, newCodec(t), group, []string{topic}, consumer.HandlerFunc(effectHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitEffects(t testing.TB, db *sqldb.DB, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d effects", n), func() (bool, error) {
		got, err := count(db, `SELECT COUNT(*) FROM effects`)
		return got >= n, err
	})
}

// Two runners of one group join and leave while events flow: every event
// is handled exactly once, in order per key, and none is lost.
func TestRunnersJoinAndLeave(t *testing.T) {
	const group, topic, keys = "join-test", "events", 24
	addr := startBroker(t, 6, append(groupTopics(group), topic)...)
	db := sqltest.SQLite(t, consumer.Migrations(), testMigs)
	prod := newProducer(t, addr)

	stopA := startRunner(t, newRunner(t, db, addr, group, topic))
	produce(t, prod, batch(t, topic, 0, 20, keys)...)
	rB := newRunner(t, db, addr, group, topic)
	stopB := startRunner(t, rB)
	produce(t, prod, batch(t, topic, 20, 40, keys)...)
	waitEffects(t, db, 40*keys)
	stopA()
	produce(t, prod, batch(t, topic, 40, 60, keys)...)
	waitEffects(t, db, 60*keys)
	stopB()
	produce(t, prod, batch(t, topic, 60, 80, keys)...)
	rA2 := newRunner(t, db, addr, group, topic)
	stopA2 := startRunner(t, rA2)
	waitEffects(t, db, 80*keys)
	stopA2()
	if rB.Stats().Handled == 0 || rA2.Stats().Handled == 0 {
		t.Errorf("handled by B = %d, by A again = %d; want both > 0", rB.Stats().Handled, rA2.Stats().Handled)
	}
	checkEffects(t, db, 80*keys)
	checkOrder(t, db, 80)
}

// The same record produced twice, and the group's offsets rewound to the
// start with kadm after everything was handled: each effect happens once.
func TestDuplicateDeliveryIsNoOp(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		const group, topic, keys = "dup-test", "events", 8
		addr := startBroker(t, 3, append(groupTopics(group), topic)...)
		db := open(t, consumer.Migrations(), testMigs)
		prod := newProducer(t, addr)
		recs := batch(t, topic, 0, 10, keys)
		for _, r := range recs[:20] {
			recs = append(recs, &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value})
		}
		produce(t, prod, recs...)
		r1 := newRunner(t, db, addr, group, topic)
		stop := startRunner(t, r1)
		waitEffects(t, db, 10*keys)
		waitFor(t, "all records seen", func() (bool, error) { return r1.Stats().Handled == int64(len(recs)), nil })
		stop()

		adm := kadm.NewClient(prod)
		ctx := context.Background()
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Topic == topic {
				total += o.At
			}
		})
		if total != int64(len(recs)) {
			t.Fatalf("committed offsets sum = %d, want %d (all records)", total, len(recs))
		}
		rewind := kadm.Offsets{}
		committed.Each(func(o kadm.OffsetResponse) {
			if o.Topic == topic {
				rewind.AddOffset(o.Topic, o.Partition, 0, -1)
			}
		})
		if _, err := adm.CommitOffsets(ctx, group, rewind); err != nil {
			t.Fatal(err)
		}
		r2 := newRunner(t, db, addr, group, topic)
		stop = startRunner(t, r2)
		waitFor(t, "rewound records seen again", func() (bool, error) { return r2.Stats().Handled == int64(len(recs)), nil })
		stop()
		checkEffects(t, db, 10*keys)
		checkOrder(t, db, 10)
	})
}

// Rebalance stats as two members join and leave: the partitions each
// holds (topic and replay topic, 2 × 6) add up to the group's, assigned −
// revoked − lost = held at every step, leaving revokes all, and each
// member reports its completed rebalances to the observer.
func TestRebalanceStats(t *testing.T) {
	const group, topic, parts = "rebalance-test", "events", 6
	addr := startBroker(t, parts, append(groupTopics(group), topic)...)
	db := sqltest.SQLite(t, consumer.Migrations(), testMigs)
	var mu sync.Mutex
	observed := map[string]int{}
	observer := func(name string) consumer.Opt {
		return consumer.WithRebalanceObserver(func(d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if d > 0 {
				observed[name]++
			}
		})
	}
	seen := func(name string) int { mu.Lock(); defer mu.Unlock(); return observed[name] }
	held := func(name string, st consumer.Stats) {
		t.Helper()
		if got := st.PartitionsAssigned - st.PartitionsRevoked - st.PartitionsLost; got != st.Assigned {
			t.Errorf("%s: assigned %d − revoked %d − lost %d = %d, but it holds %d", name,
				st.PartitionsAssigned, st.PartitionsRevoked, st.PartitionsLost, got, st.Assigned)
		}
	}

	rA := newRunner(t, db, addr, group, topic, observer("A"))
	startRunner(t, rA)
	waitFor(t, "A holds every partition", func() (bool, error) { return rA.Stats().Assigned == 2*parts, nil })
	stA := rA.Stats()
	if stA.PartitionsAssigned != 2*parts || stA.RebalancesCompleted < 1 || seen("A") < 1 {
		t.Errorf("A after joining: %+v, %d observed; want %d assigned and a rebalance", stA, seen("A"), 2*parts)
	}
	held("A", stA)

	rB := newRunner(t, db, addr, group, topic, observer("B"))
	stopB := startRunner(t, rB)
	waitFor(t, "A and B split the partitions", func() (bool, error) {
		a, b := rA.Stats(), rB.Stats()
		return a.Assigned > 0 && b.Assigned > 0 && a.Assigned+b.Assigned == 2*parts, nil
	})
	stA, stB := rA.Stats(), rB.Stats()
	if stA.PartitionsRevoked == 0 || stA.RebalancesCompleted < 2 || stB.PartitionsAssigned == 0 || seen("B") < 1 {
		t.Errorf("after B joined: A %+v, B %+v, observed %v; want A to have revoked and rebalanced again, B assigned", stA, stB, observed)
	}
	held("A", stA)
	held("B", stB)

	completedA := stA.RebalancesCompleted
	stopB()
	stB = rB.Stats()
	if stB.Assigned != 0 || stB.PartitionsRevoked != stB.PartitionsAssigned {
		t.Errorf("B after leaving: %+v, want everything it was assigned revoked", stB)
	}
	waitFor(t, "A holds every partition again", func() (bool, error) { return rA.Stats().Assigned == 2*parts, nil })
	stA = rA.Stats()
	if stA.RebalancesCompleted <= completedA {
		t.Errorf("A after B left: %d rebalances completed, want more than %d", stA.RebalancesCompleted, completedA)
	}
	held("A", stA)
}
