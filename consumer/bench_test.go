package consumer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// The benchmarks share one kfake broker with benchEvents pre-produced
// events (~400 B envelopes) over 6 partitions; each iteration consumes all
// of them with a fresh group and a fresh SQLite database.
//
//	go test -run='^$' -bench=. -benchtime=1x ./consumer/
const (
	benchEvents = 100_000
	benchTopic  = "bench"
	benchKeys   = 5_000
)

var benchBroker = sync.OnceValues(func() (string, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, benchTopic),
		kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		return "", err
	}
	addr := c.ListenAddrs()[0]
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return "", err
	}
	defer cl.Close()
	pad := strings.Repeat("x", 180)
	recs := make([]*kgo.Record, 0, 10_000)
	for i := 0; i < benchEvents; i++ {
		key := fmt.Sprintf("user-%05d", i%benchKeys)
		data, _ := json.Marshal(map[string]any{"orderId": fmt.Sprintf("o-%07d", i), "userId": key,
			"totalMinor": 1999, "currency": "USD", "note": pad})
		e := event.Envelope{EventID: event.NewID(), EventType: testType, Version: 2,
			Timestamp: time.Now().UTC().Truncate(time.Millisecond), Data: data,
			Metadata: event.Metadata{CorrelationID: event.NewID(), Source: "bench"}}
		v, _ := json.Marshal(e)
		recs = append(recs, &kgo.Record{Topic: benchTopic, Key: []byte(key), Value: v})
		if len(recs) == cap(recs) || i == benchEvents-1 {
			if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
				return "", err
			}
			recs = recs[:0]
		}
	}
	return addr, nil
})

// benchGroupSeq makes every iteration of every run use a fresh group.
var benchGroupSeq atomic.Int64

var benchMigs = []sqldb.Migration{{
	Component: "consumerbench", Version: 1,
	SQLite: `CREATE TABLE state (k TEXT PRIMARY KEY, n INTEGER NOT NULL, last TEXT NOT NULL);
		CREATE TABLE outbox_rows (id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, k TEXT NOT NULL, v BLOB NOT NULL)`,
}}

// benchEffect is the consumer step of a service: a state upsert and an
// outbox-like row, in the caller's transaction.
func benchEffect(ctx context.Context, tx *sqldb.Tx, key, eventID string, value []byte) error {
	if _, err := consumer.Exec(ctx, tx, `INSERT INTO state (k, n, last) VALUES ($1, 1, $2)
		ON CONFLICT (k) DO UPDATE SET n = state.n + 1, last = excluded.last`, key, eventID); err != nil {
		return err
	}
	_, err := consumer.Exec(ctx, tx, `INSERT INTO outbox_rows (topic, k, v) VALUES ($1, $2, $3)`, "bench.out", key, value)
	return err
}

func benchDB(b *testing.B) *sqldb.DB {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx, consumer.Migrations(), benchMigs); err != nil {
		b.Fatal(err)
	}
	return db
}

func benchAddr(b *testing.B) string {
	b.Helper()
	addr, err := benchBroker()
	if err != nil {
		b.Fatal(err)
	}
	return addr
}

func reportRate(b *testing.B, start time.Time) {
	b.ReportMetric(float64(benchEvents*b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkPipeline: the runner — the ready lane batches of all
// partitions (≤ 500 records each) share one group-commit SQLite
// transaction (≤ 2,000 records plus one round): one bulk dedup insert per
// transaction, then a state upsert and an outbox row per event, and the
// offset commits after it. events/tx is records per transaction.
func BenchmarkPipeline(b *testing.B) { benchPipeline(b) }

// BenchmarkPipelineTraced: BenchmarkPipeline with OpenTelemetry on — a
// consumer span per event, every one sampled, batched to an exporter that
// drops them — the cost of tracing in the consumer.
func BenchmarkPipelineTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	benchPipeline(b, consumer.WithTracerProvider(tp))
}

func benchPipeline(b *testing.B, opts ...consumer.Opt) {
	addr := benchAddr(b)
	codec := newCodec(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := benchDB(b)
		h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
			return benchEffect(ctx, tx, m.Key, m.Envelope.EventID, m.Value)
		})
		r, err := consumer.New(db, codec, fmt.Sprintf("bench-pipeline-%d", benchGroupSeq.Add(1)), []string{benchTopic}, h,
			append([]consumer.Opt{consumer.WithKafkaOpts(kgo.SeedBrokers(addr))}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		for r.Stats().Handled < benchEvents {
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		st := r.Stats()
		b.ReportMetric(float64(st.Handled)/float64(max(st.Batches, 1)), "events/tx")
	}
	reportRate(b, start)
}

// groupConsume consumes all benchEvents as a fresh group with manual
// commits, calling each for every polled batch before committing it.
func groupConsume(b *testing.B, group string, each func(recs []*kgo.Record) error) {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(benchAddr(b)), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(benchTopic), kgo.DisableAutoCommit(),
		kgo.Balancers(kgo.CooperativeStickyBalancer()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	n := 0
	for n < benchEvents {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			b.Fatal(err)
		}
		recs := fs.Records()
		if err := each(recs); err != nil {
			b.Fatal(err)
		}
		if err := cl.CommitRecords(ctx, recs...); err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
}

// BenchmarkRawConsume: plain franz-go group consumption with offset
// commits after every poll, no database.
func BenchmarkRawConsume(b *testing.B) {
	benchAddr(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		groupConsume(b, fmt.Sprintf("bench-raw-%d", benchGroupSeq.Add(1)), func([]*kgo.Record) error { return nil })
	}
	reportRate(b, start)
}

// BenchmarkNaiveTxPerEvent: the naive design for reference — decode, then
// one SQLite transaction per event (dedup insert, state upsert, outbox
// row), offsets committed after each poll.
func BenchmarkNaiveTxPerEvent(b *testing.B) {
	benchAddr(b)
	codec := newCodec(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := benchDB(b)
		b.StartTimer()
		group := fmt.Sprintf("bench-naive-%d", benchGroupSeq.Add(1))
		ctx := context.Background()
		groupConsume(b, group, func(recs []*kgo.Record) error {
			for _, rec := range recs {
				e, err := codec.Decode(rec.Value)
				if err != nil {
					return err
				}
				err = db.InTx(ctx, func(tx *sqldb.Tx) error {
					res, err := tx.ExecContext(ctx, `INSERT INTO consumer_processed (group_name, event_id, processed_at)
						VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, group, e.EventID, time.Now().UnixMilli())
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n == 0 {
						return nil
					}
					return benchEffect(ctx, tx, string(rec.Key), e.EventID, rec.Value)
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	reportRate(b, start)
}
