package projection_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
)

const (
	testType  = "test.counted"
	testTopic = "counted"
)

// counts is the test projection: per key, how many events it saw, the last
// event's id and sequence number.
type counts struct {
	name    string
	topics  []string
	onApply func(ctx context.Context, m projection.Message) error
}

type countedData struct {
	K   string `json:"k"`
	Seq int    `json:"seq"`
}

func (c *counts) Name() string {
	if c.name == "" {
		return "counts"
	}
	return c.name
}

func (c *counts) Topics() []string {
	if len(c.topics) == 0 {
		return []string{testTopic}
	}
	return c.topics
}

func (c *counts) TableNames() []string { return []string{"key_counts"} }

func (c *counts) Setup(ctx context.Context, tx *sqldb.Tx, t projection.Tables) error {
	tbl := t.Name("key_counts")
	for _, q := range []string{
		`CREATE TABLE ` + tbl + ` (k TEXT PRIMARY KEY, n INTEGER NOT NULL, last_event TEXT NOT NULL, last_seq INTEGER NOT NULL)`,
		`CREATE INDEX ` + t.Index("key_counts_seq") + ` ON ` + tbl + ` (last_seq)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func (c *counts) Apply(ctx context.Context, tx *sqldb.Tx, t projection.Tables, m projection.Message) error {
	if c.onApply != nil {
		if err := c.onApply(ctx, m); err != nil {
			return err
		}
	}
	var d countedData
	if err := m.Envelope.UnmarshalData(&d); err != nil {
		return err
	}
	_, err := projection.Exec(ctx, tx, `INSERT INTO `+t.Name("key_counts")+` (k, n, last_event, last_seq) VALUES ($1, 1, $2, $3)
		ON CONFLICT (k) DO UPDATE SET n = `+t.Name("key_counts")+`.n + 1, last_event = excluded.last_event, last_seq = excluded.last_seq`,
		d.K, m.Envelope.EventID, d.Seq)
	return err
}

// failOn returns an onApply for counts that fails the event id every
// time, counting the tries.
func failOn(id string, tries *atomic.Int64) func(context.Context, projection.Message) error {
	return func(_ context.Context, m projection.Message) error {
		if m.Envelope.EventID == id {
			tries.Add(1)
			return errors.New("cannot apply this one")
		}
		return nil
	}
}

// reachable is the position a runner with policy reaches when the record
// at bad cannot be applied: prod's, but for bad's partition under
// StopPartition.
func reachable(prod *producer, bad projection.TopicPartition, policy projection.PoisonPolicy) projection.Offsets {
	want := prod.position()
	if policy == projection.StopPartition {
		delete(want, bad)
	}
	return want
}

func newCodec(t testing.TB) *event.Codec {
	t.Helper()
	reg := event.NewRegistry()
	if err := reg.Register(testType, 1); err != nil {
		t.Fatal(err)
	}
	return event.NewCodec(reg)
}

// startBroker starts the embedded broker on a free port with the topics.
func startBroker(t testing.TB, partitions int32, topics ...string) *kafka.Broker {
	t.Helper()
	var specs []kafka.TopicSpec
	for _, tp := range topics {
		specs = append(specs, kafka.TopicSpec{Name: tp, Partitions: partitions, ReplicationFactor: -1})
	}
	b, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(specs...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// model is what the projection should hold: per key, count, last id and seq.
type model map[string]row

type row struct {
	N       int
	LastID  string
	LastSeq int
}

// producer produces test events and tracks the expected model.
type producer struct {
	t     testing.TB
	cl    *kgo.Client
	topic string
	mu    sync.Mutex
	seq   int
	want  model
	last  projection.Offsets
	envs  []event.Envelope
}

func newProducer(t testing.TB, addr, topic string) *producer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &producer{t: t, cl: cl, topic: topic, want: model{}, last: projection.Offsets{}}
}

func (p *producer) envelope(k string) event.Envelope {
	p.seq++
	e, err := event.New(testType, 1, countedData{K: k, Seq: p.seq}, event.StartFlow("test"))
	if err != nil {
		p.t.Fatal(err)
	}
	return e
}

// produce sends n events over keys k0…k(keys-1) and returns their records.
func (p *producer) produce(n, keys int) []*kgo.Record {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	recs := make([]*kgo.Record, 0, n)
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%d", (p.seq+i)%keys)
		e := p.envelope(k)
		p.envs = append(p.envs, e)
		b, _ := json.Marshal(e)
		recs = append(recs, &kgo.Record{Key: []byte(k), Value: b})
		r := p.want[k]
		p.want[k] = row{N: r.N + 1, LastID: e.EventID, LastSeq: p.seq}
	}
	p.send(recs...)
	return recs
}

// send produces raw records (their offsets are filled in).
func (p *producer) send(recs ...*kgo.Record) {
	p.t.Helper()
	if err := p.cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		p.t.Fatal(err)
	}
	for _, r := range recs {
		p.last[projection.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset
	}
}

func (p *producer) expected() model {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := model{}
	for k, v := range p.want {
		out[k] = v
	}
	return out
}

func (p *producer) position() projection.Offsets {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := projection.Offsets{}
	for k, v := range p.last {
		out[k] = v
	}
	return out
}

// dump reads a key_counts table.
func dump(t testing.TB, db *sqldb.DB, table string) model {
	t.Helper()
	rows, err := db.Read.Query(`SELECT k, n, last_event, last_seq FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := model{}
	for rows.Next() {
		var k string
		var r row
		if err := rows.Scan(&k, &r.N, &r.LastID, &r.LastSeq); err != nil {
			t.Fatal(err)
		}
		out[k] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func diff(got, want model) string {
	var out []string
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			out = append(out, fmt.Sprintf("%s: got %+v (present %v), want %+v", k, g, ok, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s: got %+v, want absent", k, g))
		}
	}
	sort.Strings(out)
	if len(out) > 10 {
		out = append(out[:10], fmt.Sprintf("… %d more", len(out)-10))
	}
	return fmt.Sprint(out)
}

// start runs r until the test ends (or the returned stop is called) and
// returns stop, which waits for Run to return and reports its error.
func start(t testing.TB, r *projection.Runner) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// eventually polls cond until it holds, failing the test after 20s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newRunner(t testing.TB, db *sqldb.DB, b *kafka.Broker, p projection.Projection, opts ...projection.Option) *projection.Runner {
	t.Helper()
	opts = append([]projection.Option{
		projection.WithKafkaOpts(kgo.SeedBrokers(b.Addr()), kgo.FetchMaxWait(50*time.Millisecond)),
		projection.WithPartitionWatch(200 * time.Millisecond),
		projection.WithRetry(3, time.Millisecond, 5*time.Millisecond),
		projection.WithWaitPoll(20 * time.Millisecond),
	}, opts...)
	r, err := projection.New(db, newCodec(t), p, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// reached reports whether the stored checkpoints cover pos.
func reached(t testing.TB, db *sqldb.DB, name string, pos projection.Offsets) bool {
	t.Helper()
	cps, err := projection.Checkpoints(context.Background(), db, name)
	if err != nil {
		t.Fatal(err)
	}
	for tp, off := range pos {
		if cps[tp] <= off {
			return false
		}
	}
	return true
}

// produceTo produces per events to each of the partitions with cl (a
// manual-partitioner client) and tracks them.
func (p *producer) produceTo(cl *kgo.Client, parts []int32, per int) []*kgo.Record {
	p.t.Helper()
	p.mu.Lock()
	var recs []*kgo.Record
	for _, part := range parts {
		for i := 0; i < per; i++ {
			k := fmt.Sprintf("p%d-%d", part, i%2)
			e := p.envelope(k)
			b, _ := json.Marshal(e)
			recs = append(recs, &kgo.Record{Key: []byte(k), Value: b, Partition: part})
			r := p.want[k]
			p.want[k] = row{N: r.N + 1, LastID: e.EventID, LastSeq: p.seq}
		}
	}
	p.mu.Unlock()
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	for _, r := range recs {
		p.last[projection.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset
	}
	p.mu.Unlock()
	return recs
}
