package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// Handlers that fail once in the middle of big batches, on several
// partitions at a time (so one transaction holds several failing lane
// batches on SQLite): each failure counts as exactly one attempt (the
// failing record is not handed to the handler again in the same round;
// records that succeed may be, when a transaction is re-run, but their
// effects commit once), the other records of the batches commit,
// duplicates right behind a failing record stay no-ops, and every key
// keeps its order.
func TestFlakyRecordsInBatches(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		const group, topic, keys, perKey = "flaky-test", "events", 30, 20
		addr := startBroker(t, 4, append(groupTopics(group), topic)...)
		db := open(t, consumer.Migrations(), testMigs)
		flaky := func(eventID string) bool {
			var k, s int
			_, _ = fmt.Sscanf(eventID, "k%d-%d", &k, &s)
			return k%3 == 0 && s%5 == 2
		}
		var mu sync.Mutex
		calls := map[string][3]int{} // by attempt 1, 2, later
		h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
			id := m.Envelope.EventID
			if flaky(id) {
				mu.Lock()
				c := calls[id]
				c[min(m.Attempt, 3)-1]++
				calls[id] = c
				mu.Unlock()
				if m.Attempt == 1 {
					return errors.New("flaky: try again")
				}
			}
			return effectHandler(ctx, tx, m)
		})
		prod := newProducer(t, addr)
		var recs []*kgo.Record
		wantFlaky := 0
		for s := 0; s < perKey; s++ {
			for k := 0; k < keys; k++ {
				key := fmt.Sprintf("k%02d", k)
				r := &kgo.Record{Topic: topic, Key: []byte(key), Value: envelope(t, id(key, s), s)}
				recs = append(recs, r)
				if flaky(id(key, s)) {
					wantFlaky++
					if k%2 == 0 { // a duplicate right behind a failing record
						recs = append(recs, &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value})
					}
				}
			}
		}
		produce(t, prod, recs...)
		r, err := consumer.New(db, newCodec(t), group, []string{topic}, h,
			consumer.WithKafkaOpts(kafkaOpts(addr)...), consumer.WithBatchMax(100),
			consumer.WithMaxAttempts(3), consumer.WithBackoff(time.Millisecond, 5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		stop := startRunner(t, r)
		waitFor(t, "all events handled", func() (bool, error) {
			n, err := count(db, `SELECT COUNT(*) FROM effects`)
			return n >= keys*perKey, err
		})
		stop()
		checkEffects(t, db, keys*perKey)
		if got := checkOrder(t, db, perKey); got != keys {
			t.Errorf("keys handled = %d, want %d", got, keys)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(calls) != wantFlaky {
			t.Errorf("flaky events seen = %d, want %d", len(calls), wantFlaky)
		}
		for id, c := range calls {
			if c[0] != 1 || c[1] < 1 || c[2] != 0 {
				t.Errorf("%s handed to the handler %d, %d, %d times at attempt 1, 2, later; want 1, ≥ 1, 0", id, c[0], c[1], c[2])
			}
		}
		st := r.Stats()
		if got, want := st.Failures, int64(wantFlaky); got != want {
			t.Errorf("failures = %d, want %d", got, want)
		}
		if st.DeadLetters != 0 || st.Parked != 0 {
			t.Errorf("stats = %+v, want no dead letters and nothing parked", st)
		}
	})
}
