package consumer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

const testType = "test.happened"

// testMigs holds the tables the test handlers write their effects to.
var testMigs = []sqldb.Migration{{
	Component: "consumertest", Version: 1,
	SQLite: `CREATE TABLE effects (event_id TEXT PRIMARY KEY, k TEXT NOT NULL, seq INTEGER NOT NULL, n INTEGER NOT NULL);
		CREATE TABLE effect_log (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, seq INTEGER NOT NULL)`,
	Postgres: `CREATE TABLE effects (event_id TEXT PRIMARY KEY, k TEXT NOT NULL, seq INTEGER NOT NULL, n INTEGER NOT NULL);
		CREATE TABLE effect_log (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k TEXT NOT NULL, seq INTEGER NOT NULL)`,
}}

// newCodec knows testType at version 2; v1 data {"s": n} is upcast to
// {"seq": n}.
func newCodec(t testing.TB) *event.Codec {
	t.Helper()
	reg := event.NewRegistry()
	err := reg.Register(testType, 2, event.Upcaster{From: 1, Up: func(d json.RawMessage) (json.RawMessage, error) {
		var v1 struct {
			S int `json:"s"`
		}
		if err := json.Unmarshal(d, &v1); err != nil {
			return nil, err
		}
		return json.Marshal(map[string]int{"seq": v1.S})
	}})
	if err != nil {
		t.Fatal(err)
	}
	return event.NewCodec(reg)
}

type payload struct {
	Seq int `json:"seq"`
}

// envelope returns the JSON of a testType v2 event with the given id and
// sequence number, padded to a realistic size.
func envelope(t testing.TB, id string, seq int) []byte {
	t.Helper()
	e := event.Envelope{
		EventID: id, EventType: testType, Version: 2,
		Timestamp: time.Date(2026, 11, 25, 18, 5, 37, 123e6, time.UTC),
		Data:      json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq)),
		Metadata:  event.Metadata{CorrelationID: "c-" + id, Source: "test"},
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startBroker starts a one-node kfake cluster on a random 127.0.0.1 port
// with topics seeded, and returns its address.
func startBroker(t testing.TB, partitions int32, topics ...string) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// groupTopics returns the topics a group's runner needs besides its input.
func groupTopics(group string) []string {
	return []string{consumer.DeadLetterTopic(group), consumer.ReplayTopic(group)}
}

func kafkaOpts(addr string) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(addr),
		kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.SessionTimeout(1500 * time.Millisecond),
		kgo.HeartbeatInterval(200 * time.Millisecond),
		kgo.RebalanceTimeout(5 * time.Second),
	}
}

func newProducer(t testing.TB, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func produce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// effectHandler records each event's effect: effects(event_id) with a
// delivery count n, and effect_log in handling order.
func effectHandler(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
	var p payload
	if err := m.Envelope.UnmarshalData(&p); err != nil {
		return consumer.Permanent(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO effects (event_id, k, seq, n) VALUES ($1, $2, $3, 1)
		ON CONFLICT (event_id) DO UPDATE SET n = effects.n + 1`, m.Envelope.EventID, m.Key, p.Seq); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO effect_log (k, seq) VALUES ($1, $2)`, m.Key, p.Seq)
	return err
}

// startRunner runs a runner until the test ends (or stop is called) and
// returns stop, which cancels it and waits for Run to return.
func startRunner(t testing.TB, r *consumer.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after a generous
// bound (a hang guard, not a timing assertion).
func waitFor(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(db *sqldb.DB, q string, args ...any) (int, error) {
	var n int
	err := db.Read.QueryRowContext(context.Background(), q, args...).Scan(&n)
	return n, err
}

// checkEffects asserts that exactly ids have an effect, each exactly once.
func checkEffects(t testing.TB, db *sqldb.DB, want int) {
	t.Helper()
	n, err := count(db, `SELECT COUNT(*) FROM effects`)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("events with an effect = %d, want %d", n, want)
	}
	dup, err := count(db, `SELECT COUNT(*) FROM effects WHERE n <> 1`)
	if err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d events had their effect more than once", dup)
	}
}

// checkOrder asserts every key's effect_log is seq 0, 1, 2, … in handling
// order, with no gaps and no repeats, and returns how many keys it saw.
func checkOrder(t testing.TB, db *sqldb.DB, perKey int) int {
	t.Helper()
	rows, err := db.Read.QueryContext(context.Background(), `SELECT k, seq FROM effect_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	next := map[string]int{}
	for rows.Next() {
		var k string
		var seq int
		if err := rows.Scan(&k, &seq); err != nil {
			t.Fatal(err)
		}
		if seq != next[k] {
			t.Fatalf("key %s: handled seq %d, want %d", k, seq, next[k])
		}
		next[k]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for k, n := range next {
		if perKey > 0 && n != perKey {
			t.Errorf("key %s: %d events handled, want %d", k, n, perKey)
		}
	}
	return len(next)
}

// readAll reads every record of topic from the start to its current end.
func readAll(t testing.TB, addr, topic string) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// End offsets first, then consume up to them.
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(0)
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	var out []*kgo.Record
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for int64(len(out)) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: got %d of %d records", topic, len(out), want)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func hdr(t testing.TB, r *kgo.Record, key string) string {
	t.Helper()
	v, ok := consumer.Header(r.Headers, key)
	if !ok {
		t.Fatalf("record %s/%d/%d has no header %s", r.Topic, r.Partition, r.Offset, key)
	}
	return v
}

func id(prefix string, i int) string { return prefix + "-" + strconv.Itoa(i) }

func keyOf(s string) string { return s[:strings.LastIndex(s, "-")] }
