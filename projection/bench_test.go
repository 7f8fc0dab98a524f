package projection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqlite"
)

// BenchmarkProjection measures the runner's catch-up on SQLite: a topic of
// PROJECTION_BENCH_EVENTS events (default 200,000) over 6 partitions and
// 10,000 keys is produced first, then each iteration applies all of it to
// a fresh database with the counts projection (one upsert per event, dedup
// on). Reported: events/s and the catch-up time.
//
//	PROJECTION_BENCH_EVENTS=1000000 go test -run=^$ -bench=Projection -benchtime=1x ./projection/
func BenchmarkProjection(b *testing.B) {
	n := 200_000
	if s := os.Getenv("PROJECTION_BENCH_EVENTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("PROJECTION_BENCH_EVENTS=%q: want a positive integer", s)
		}
		n = v
	}
	broker := startBroker(b, 6, testTopic)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr()), kgo.DefaultProduceTopic(testTopic),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(50_000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	end := projection.Offsets{}
	const chunk = 20_000
	for i := 0; i < n; i += chunk {
		recs := make([]*kgo.Record, 0, chunk)
		for j := i; j < min(i+chunk, n); j++ {
			k := fmt.Sprintf("k%d", j%10_000)
			e, err := event.New(testType, 1, countedData{K: k, Seq: j}, event.StartFlow("bench"))
			if err != nil {
				b.Fatal(err)
			}
			v, _ := json.Marshal(e)
			recs = append(recs, &kgo.Record{Key: []byte(k), Value: v})
		}
		if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			tp := projection.TopicPartition{Topic: r.Topic, Partition: r.Partition}
			end[tp] = max(end[tp], r.Offset)
		}
	}
	// The library's default policy, and the read service's (ParkKey adds
	// one parked-keys query per batch).
	for _, pc := range []struct {
		name   string
		policy projection.PoisonPolicy
	}{{"policy=stop", projection.StopPartition}, {"policy=park", projection.ParkKey}} {
		b.Run(pc.name, func(b *testing.B) { benchCatchUp(b, broker.Addr(), n, end, pc.policy) })
	}
}

// benchCatchUp measures a fresh runner catching up with end (n events).
func benchCatchUp(b *testing.B, addr string, n int, end projection.Offsets, policy projection.PoisonPolicy) {
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), fmt.Sprintf("bench%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Migrate(context.Background(), projection.Migrations()); err != nil {
			b.Fatal(err)
		}
		r, err := projection.New(db, newCodec(b), &counts{}, projection.WithKafkaOpts(kgo.SeedBrokers(addr)),
			projection.WithPoisonPolicy(policy))
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Setup(context.Background()); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		t0 := time.Now()
		go func() { done <- r.Run(ctx) }()
		wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Minute)
		err = r.WaitFor(wctx, end)
		elapsed := time.Since(t0)
		wcancel()
		b.StopTimer()
		cancel()
		if rerr := <-done; rerr != nil {
			b.Fatal(rerr)
		}
		if err != nil {
			b.Fatal(err)
		}
		if got := r.Status().Applied; got != int64(n) {
			b.Fatalf("applied %d events, want %d", got, n)
		}
		total += elapsed
		_ = db.Close()
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "events/s")
	b.ReportMetric(total.Seconds()/float64(b.N), "catchup-s")
	b.ReportMetric(float64(n), "events")
}
