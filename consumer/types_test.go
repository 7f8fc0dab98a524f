package consumer_test

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestEventTypesFilter: under WithEventTypes the handler sees only its
// types; the others are acknowledged without a transaction (Stats.Skipped)
// and committed — a second runner of the group does not get them again —
// while an undecodable record is still dead-lettered and a handled key
// keeps its order around the skipped records.
func TestEventTypesFilter(t *testing.T) {
	const group, topic, ignored = "types-test", "events", "test.ignored"
	addr := startBroker(t, 2, append(groupTopics(group), topic)...)
	db := sqltest.SQLite(t, consumer.Migrations(), testMigs)
	reg := event.NewRegistry()
	if err := reg.Register(testType, 2); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(ignored, 2); err != nil {
		t.Fatal(err)
	}
	codec := event.NewCodec(reg)
	var mu sync.Mutex
	seen := map[string]int{}
	h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		mu.Lock()
		seen[m.Envelope.EventType]++
		mu.Unlock()
		return effectHandler(ctx, tx, m)
	})
	newRunner := func() *consumer.Runner {
		r, err := consumer.New(db, codec, group, []string{topic}, h,
			consumer.WithKafkaOpts(kafkaOpts(addr)...), consumer.WithEventTypes(testType))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	other := func(id string) []byte {
		return bytes.Replace(envelope(t, id, 99), []byte(`"`+testType+`"`), []byte(`"`+ignored+`"`), 1)
	}
	prod := newProducer(t, addr)
	produce(t, prod,
		&kgo.Record{Topic: topic, Key: []byte("k1"), Value: other("i-1")},
		&kgo.Record{Topic: topic, Key: []byte("k1"), Value: envelope(t, "h-0", 0)},
		&kgo.Record{Topic: topic, Key: []byte("k1"), Value: other("i-2")},
		&kgo.Record{Topic: topic, Key: []byte("k1"), Value: envelope(t, "h-1", 1)},
		&kgo.Record{Topic: topic, Key: []byte("k2"), Value: other("i-3")},
		&kgo.Record{Topic: topic, Key: []byte("k2"), Value: other("i-4")},
		&kgo.Record{Topic: topic, Key: []byte("k3"), Value: []byte(`{not json`)},
	)
	r := newRunner()
	stop := startRunner(t, r)
	waitFor(t, "k1 handled", func() (bool, error) {
		n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'k1'`)
		return n == 2, err
	})
	waitFor(t, "every record acknowledged", func() (bool, error) {
		st := r.Stats()
		return st.Skipped == 4 && st.DeadLetters == 1, nil
	})
	checkOrder(t, db, 2)
	stop()

	r2 := newRunner()
	startRunner(t, r2)
	produce(t, prod, &kgo.Record{Topic: topic, Key: []byte("k2"), Value: envelope(t, "h-2", 0)})
	waitFor(t, "k2 handled by the second runner", func() (bool, error) {
		n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'k2'`)
		return n == 1, err
	})
	if st := r2.Stats(); st.Skipped != 0 {
		t.Errorf("second runner skipped %d records: the first did not commit past them", st.Skipped)
	}
	if n, _ := count(db, `SELECT COUNT(*) FROM consumer_processed WHERE group_name = $1`, group); n != 3 {
		t.Errorf("%d dedup rows, want 3 (none for skipped events)", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[ignored] != 0 || seen[testType] != 3 {
		t.Errorf("handler saw %v, want only 3 %s", seen, testType)
	}
}
