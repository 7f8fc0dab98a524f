package outbox_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// benchRows is how many rows each benchmark iteration publishes.
const benchRows = 20000

// benchMsgs returns benchRows messages shaped like real events: a ~300-byte
// JSON value, 1000 keys, traceparent and ce_* headers.
func benchMsgs() []outbox.Message {
	pad := strings.Repeat("x", 200)
	msgs := make([]outbox.Message, benchRows)
	for i := range msgs {
		key := fmt.Sprintf("user-%d", i%1000)
		msgs[i] = outbox.Message{
			Topic: "bench",
			Key:   key,
			Value: fmt.Appendf(nil, `{"eventId":"%08d","eventType":"order.placed","version":2,"data":{"pad":%q}}`, i, pad),
			Headers: []outbox.Header{
				{Key: "traceparent", Value: fmt.Sprintf("00-%032x-%016x-01", i+1, i+1)},
				{Key: "ce_id", Value: fmt.Sprintf("%08d", i)},
				{Key: "ce_type", Value: "order.placed"},
				{Key: "ce_source", Value: "order-service"},
			},
		}
	}
	return msgs
}

// benchEnv is one SQLite database and one kfake broker over TCP.
type benchEnv struct {
	db    *sqldb.DB
	addrs []string
	msgs  []outbox.Message
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	return &benchEnv{
		db:    sqltest.SQLite(b, outbox.Migrations()),
		addrs: newCluster(b, "bench").ListenAddrs(),
		msgs:  benchMsgs(),
	}
}

// fill enqueues all messages, 1000 rows a transaction.
func (e *benchEnv) fill(b *testing.B) {
	for start := 0; start < len(e.msgs); start += 1000 {
		enqueue(b, e.db, e.msgs[start:min(start+1000, len(e.msgs))]...)
	}
}

// relayAll enqueues the rows (untimed), then times a relay publishing all
// of them.
func (e *benchEnv) relayAll(b *testing.B, cl *kgo.Client) time.Duration {
	b.StopTimer()
	e.fill(b)
	r := outbox.NewRelay(e.db, cl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	b.StartTimer()
	t0 := time.Now()
	go func() { done <- r.Run(ctx) }()
	for r.Stats().Published < benchRows {
		time.Sleep(100 * time.Microsecond)
	}
	d := time.Since(t0)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	if n := backlog(b, r); n != 0 {
		b.Fatalf("backlog %d after relaying", n)
	}
	b.StartTimer()
	return d
}

// produceAll times plain franz-go producing the same records and waiting
// for every ack.
func (e *benchEnv) produceAll(b *testing.B, cl *kgo.Client) time.Duration {
	ctx := context.Background()
	t0 := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	wg.Add(len(e.msgs))
	for i := range e.msgs {
		m := &e.msgs[i]
		rec := &kgo.Record{Topic: m.Topic, Key: []byte(m.Key), Value: m.Value}
		for _, h := range m.Headers {
			rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
		}
		cl.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	return time.Since(t0)
}

// BenchmarkRelay measures the relay publishing benchRows pre-enqueued
// SQLite rows to kfake (read, produce, wait for acks, delete).
func BenchmarkRelay(b *testing.B) {
	e := newBenchEnv(b)
	cl := newClient(b, e.addrs)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		total += e.relayAll(b, cl)
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "msgs/s")
}

// BenchmarkRawProduce measures plain franz-go producing the same records
// with the same client settings to the same kind of broker.
func BenchmarkRawProduce(b *testing.B) {
	e := newBenchEnv(b)
	cl := newClient(b, e.addrs)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		total += e.produceAll(b, cl)
	}
	b.ReportMetric(float64(benchRows*b.N)/total.Seconds(), "msgs/s")
}

// BenchmarkRelayVsRaw alternates both on one broker and reports the
// relay's throughput as a fraction of raw produce's.
func BenchmarkRelayVsRaw(b *testing.B) {
	e := newBenchEnv(b)
	cl := newClient(b, e.addrs)
	var relay, raw time.Duration
	for i := 0; i < b.N; i++ {
		relay += e.relayAll(b, cl)
		raw += e.produceAll(b, cl)
	}
	n := float64(benchRows * b.N)
	b.ReportMetric(n/relay.Seconds(), "relay-msgs/s")
	b.ReportMetric(n/raw.Seconds(), "raw-msgs/s")
	b.ReportMetric(raw.Seconds()/relay.Seconds(), "relay/raw")
}

// BenchmarkEnqueue measures Enqueue of 1000-row transactions into SQLite.
func BenchmarkEnqueue(b *testing.B) {
	db := sqltest.SQLite(b, outbox.Migrations())
	msgs := benchMsgs()[:1000]
	for b.Loop() {
		enqueue(b, db, msgs...)
	}
	b.ReportMetric(float64(len(msgs)*b.N)/b.Elapsed().Seconds(), "rows/s")
}
