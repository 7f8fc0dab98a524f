package dlq_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

const (
	testType  = "test.happened"
	testTopic = "events"
	group     = "svc-a"
	otherGrp  = "svc-b"
)

var effectMigs = []sqldb.Migration{{
	Component: "dlqtest", Version: 1,
	SQLite:   `CREATE TABLE effect_log (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, seq INTEGER NOT NULL)`,
	Postgres: `CREATE TABLE effect_log (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, k TEXT NOT NULL, seq INTEGER NOT NULL)`,
}}

// swapDecoder decodes with a codec that a test can replace, as a service
// does when it is redeployed with a newer event version registered.
type swapDecoder struct{ c atomic.Pointer[event.Codec] }

func (d *swapDecoder) Decode(b []byte) (event.Envelope, error) { return d.c.Load().Decode(b) }

// codec knows testType at version v (≥ 2), upcasting from 1.
func codec(t testing.TB, v int) *event.Codec {
	t.Helper()
	up := func(d json.RawMessage) (json.RawMessage, error) { return d, nil }
	var ups []event.Upcaster
	for from := 1; from < v; from++ {
		ups = append(ups, event.Upcaster{From: from, Up: up})
	}
	reg := event.NewRegistry()
	if err := reg.Register(testType, v, ups...); err != nil {
		t.Fatal(err)
	}
	return event.NewCodec(reg)
}

func envelope(t testing.TB, id string, seq, version int) []byte {
	e := event.Envelope{
		EventID: id, EventType: testType, Version: version,
		Timestamp: time.Date(2026, 11, 25, 18, 5, 37, 123e6, time.UTC),
		Data:      json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq)),
		Metadata:  event.Metadata{CorrelationID: "c-" + id, Source: "test"},
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err) // an Envelope always marshals
	}
	return b
}

// env is one embedded broker, one consumer group (svc-a on topic events)
// running on SQLite with a handler that fails for the keys in broken, and
// an Inspector with an audit log and the group's database.
type env struct {
	t      *testing.T
	addr   string
	cfg    kafka.ClientConfig
	db     *sqldb.DB
	audit  *dlq.Audit
	in     *dlq.Inspector
	dec    *swapDecoder
	prod   *kgo.Client
	mu     sync.Mutex
	broken map[string]bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAudit(t, sqltest.SQLite)
}

// newEnvAudit is newEnv with the audit log on the database open gives.
func newEnvAudit(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) *env {
	t.Helper()
	ctx := context.Background()
	var specs []kafka.TopicSpec
	specs = append(specs, kafka.TopicSpec{Name: testTopic, Partitions: 3, ReplicationFactor: -1})
	specs = append(specs, kafka.GroupTopicSpecs(group, 3, -1)...)
	specs = append(specs, kafka.GroupTopicSpecs(otherGrp, 1, -1)...)
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(specs...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e := &env{t: t, addr: b.Addr(), cfg: b.ClientConfig(), broken: map[string]bool{}}
	e.db = sqltest.SQLite(t, consumer.Migrations(), effectMigs)
	e.audit = dlq.NewAudit(open(t, dlq.Migrations()))
	e.dec = &swapDecoder{}
	e.dec.c.Store(codec(t, 2))
	h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		e.mu.Lock()
		bad := e.broken[m.Key]
		e.mu.Unlock()
		if bad {
			return fmt.Errorf("boom: %s rejected by downstream", m.Key)
		}
		var p struct {
			Seq int `json:"seq"`
		}
		if err := m.Envelope.UnmarshalData(&p); err != nil {
			return consumer.Permanent(err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO effect_log (k, seq) VALUES ($1, $2)`, m.Key, p.Seq)
		return err
	})
	r, err := consumer.New(e.db, e.dec, group, []string{testTopic}, h,
		consumer.WithKafkaOpts(kgo.SeedBrokers(e.addr), kgo.FetchMaxWait(50*time.Millisecond)),
		consumer.WithMaxAttempts(2), consumer.WithBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	e.in = e.inspector(dlq.WithAudit(e.audit), dlq.WithServiceDB(group, e.db))
	e.prod, err = kgo.NewClient(kgo.SeedBrokers(e.addr), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.prod.Close)
	return e
}

func (e *env) inspector(opts ...dlq.Opt) *dlq.Inspector {
	e.t.Helper()
	in, err := dlq.New(e.cfg, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(in.Close)
	return in
}

func (e *env) setBroken(key string, bad bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.broken[key] = bad
}

// produce sends the events seq from..to-1 of key, version 2.
func (e *env) produce(key string, from, to int) {
	e.t.Helper()
	var recs []*kgo.Record
	for s := from; s < to; s++ {
		recs = append(recs, &kgo.Record{Topic: testTopic, Key: []byte(key),
			Value: envelope(e.t, fmt.Sprintf("%s-%d", key, s), s, 2)})
	}
	e.produceRecs(recs...)
}

func (e *env) produceRecs(recs ...*kgo.Record) {
	e.t.Helper()
	if err := e.prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		e.t.Fatalf("produce: %v", err)
	}
}

// poison makes key fail, produces n events of it and waits until the
// first is dead-lettered and the other n-1 are parked behind it.
func (e *env) poison(key string, n int) dlq.Letter {
	e.t.Helper()
	e.setBroken(key, true)
	e.produce(key, 0, n)
	return e.waitParked(key, n-1)
}

// waitParked waits until key is parked with n records behind its letter
// and returns the letter.
func (e *env) waitParked(key string, n int) dlq.Letter {
	e.t.Helper()
	var l dlq.Letter
	waitFor(e.t, "key "+key+" parked", func() (bool, error) {
		ls, err := e.in.List(context.Background(), dlq.Filter{Group: group, Key: key, Status: dlq.StatusParked})
		if err != nil || len(ls) != 1 || ls[0].ParkedRecords != n {
			return false, err
		}
		l = ls[0]
		return true, nil
	})
	return l
}

// waitReleased waits until key is parked no more.
func (e *env) waitReleased(key string) {
	e.t.Helper()
	waitFor(e.t, "key "+key+" released", func() (bool, error) {
		ps, err := consumer.ListParked(context.Background(), e.db, group)
		for _, p := range ps {
			if p.Key == key {
				return false, err
			}
		}
		return true, err
	})
}

// effects returns the seqs handled for key, in handling order.
func (e *env) effects(key string) []int {
	e.t.Helper()
	rows, err := e.db.Read.QueryContext(context.Background(), `SELECT seq FROM effect_log WHERE k = $1 ORDER BY id`, key)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var s int
		if err := rows.Scan(&s); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// topicEnd returns the sum of the end offsets of topic.
func (e *env) topicEnd(topic string) int64 {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.addr))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(context.Background(), topic)
	if err != nil {
		e.t.Fatal(err)
	}
	var n int64
	ends.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n
}

// waitFor polls cond until it holds; the bound is a hang guard, not a
// timing assertion.
func waitFor(t testing.TB, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
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

func equalInts(a, b []int) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func recordV(key string, seq, version int) *kgo.Record {
	return &kgo.Record{Topic: testTopic, Key: []byte(key),
		Value: envelope(nil, fmt.Sprintf("%s-%d", key, seq), seq, version)}
}
