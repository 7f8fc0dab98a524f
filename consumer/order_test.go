package consumer_test

import (
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// Many keys over several partitions, some records produced twice: every
// key's events are handled in order, without gaps, each effect once.
func TestPerKeyOrderAndDedup(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		const group, topic, keys, perKey = "order-test", "events", 40, 30
		addr := startBroker(t, 4, append(groupTopics(group), topic)...)
		db := open(t, consumer.Migrations(), testMigs)
		lanes := 1
		if db.Dialect == sqldb.Postgres {
			lanes = 4
		}
		prod := newProducer(t, addr)
		var recs []*kgo.Record
		for s := 0; s < perKey; s++ {
			for k := 0; k < keys; k++ {
				key := fmt.Sprintf("k%02d", k)
				r := &kgo.Record{Topic: topic, Key: []byte(key), Value: envelope(t, id(key, s), s)}
				recs = append(recs, r)
				if s%7 == 3 { // a duplicate, right behind the original
					recs = append(recs, &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value})
				}
			}
		}
		produce(t, prod, recs...)
		r, err := consumer.New(db, newCodec(t), group, []string{topic}, consumer.HandlerFunc(effectHandler),
			consumer.WithKafkaOpts(kafkaOpts(addr)...), consumer.WithLanes(lanes), consumer.WithBatchMax(64))
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
		if st := r.Stats(); st.Batches == 0 || st.Handled < int64(len(recs)) {
			t.Errorf("stats = %+v, want handled ≥ %d in some batches", st, len(recs))
		}
	})
}
