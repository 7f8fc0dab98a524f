package consumerpeer_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/bench/consumerpeer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/twmb/franz-go/pkg/kgo"
)

// side is one contender: run consumes the whole topic in group and, when it
// uses a database, leaves its effects in db.
type side struct {
	name  string
	useDB bool
	extra []sqldb.Migration
	run   func(ctx context.Context, h *consumerpeer.Harness, db *sqldb.DB, group string) (consumerpeer.Result, error)
}

// sides returns the contenders; CONSUMERPEER_TUNED=1 adds the Causeway
// runner with a capped per-partition fetch size.
func sides() []side {
	ss := []side{
		{name: "raw", run: func(ctx context.Context, h *consumerpeer.Harness, _ *sqldb.DB, g string) (consumerpeer.Result, error) {
			return h.RunRaw(ctx, g)
		}},
		{name: "naive", useDB: true, run: func(ctx context.Context, h *consumerpeer.Harness, db *sqldb.DB, g string) (consumerpeer.Result, error) {
			return h.RunNaive(ctx, db, g)
		}},
		{name: "franzbatch", useDB: true, run: func(ctx context.Context, h *consumerpeer.Harness, db *sqldb.DB, g string) (consumerpeer.Result, error) {
			return h.RunFranzBatch(ctx, db, g)
		}},
		{name: "watermill", useDB: true, run: func(ctx context.Context, h *consumerpeer.Harness, db *sqldb.DB, g string) (consumerpeer.Result, error) {
			return h.RunWatermill(ctx, db, g)
		}},
		{name: "causeway", useDB: true, extra: consumerpeer.CausewayMigrations(), run: func(ctx context.Context, h *consumerpeer.Harness, db *sqldb.DB, g string) (consumerpeer.Result, error) {
			return h.RunCauseway(ctx, db, g)
		}},
	}
	if os.Getenv("CONSUMERPEER_TUNED") != "" {
		ss = append(ss, side{name: "causeway-fetch128k", useDB: true, extra: consumerpeer.CausewayMigrations(), run: func(ctx context.Context, h *consumerpeer.Harness, db *sqldb.DB, g string) (consumerpeer.Result, error) {
			return h.RunCauseway(ctx, db, g, kgo.FetchMaxPartitionBytes(consumerpeer.CausewayTunedFetchBytes))
		}})
	}
	return ss
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// runSide runs s once in a fresh group and a fresh database and checks the
// outcome; it returns the result with the database's order findings.
func runSide(tb testing.TB, h *consumerpeer.Harness, s side, group string) consumerpeer.Result {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	var db *sqldb.DB
	if s.useDB {
		var err error
		db, err = consumerpeer.OpenDB(ctx, tb.TempDir(), group, s.extra)
		if err != nil {
			tb.Fatalf("open db: %v", err)
		}
		defer db.Close()
	}
	res, err := s.run(ctx, h, db, group)
	if err != nil {
		tb.Fatalf("%s: %v", s.name, err)
	}
	if got, want := res.Handled, h.Events; got != want {
		tb.Errorf("%s: handled %d events, want %d", s.name, got, want)
	}
	if db != nil {
		events, keys, ooo, err := consumerpeer.Check(ctx, db)
		if err != nil {
			tb.Fatalf("%s: check: %v", s.name, err)
		}
		if events != h.Events || keys != h.Keys {
			tb.Errorf("%s: state has %d events over %d keys, want %d over %d", s.name, events, keys, h.Events, h.Keys)
		}
		res.OutOfOrder = ooo
	}
	return res
}

// TestSides runs every side on a small topic: all events handled once, into
// the state table, in per-key order. No timing is asserted.
func TestSides(t *testing.T) {
	ctx := context.Background()
	h, err := consumerpeer.Start(ctx, 3000, 300, consumerpeer.DefaultPartitions)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, s := range sides() {
		t.Run(s.name, func(t *testing.T) {
			res := runSide(t, h, s, "test-"+s.name)
			if res.OutOfOrder != 0 {
				t.Errorf("%s: %d events out of per-key order", s.name, res.OutOfOrder)
			}
			if res.Duplicates != 0 {
				t.Logf("%s: %d duplicate deliveries skipped", s.name, res.Duplicates)
			}
		})
	}
}

// BenchmarkConsumerPeer runs every side over the same pre-produced topic
// (CONSUMERPEER_EVENTS events, default 100k, over CONSUMERPEER_KEYS keys,
// default 10k), each in its own group and database, and reports events/s
// (wall clock from consumer start to the last commit, group join included),
// CPU µs per event (process rusage, broker included), startup, per-key order
// violations and duplicates, then prints every side's ratio to Watermill.
func BenchmarkConsumerPeer(b *testing.B) {
	ctx := context.Background()
	events := envInt("CONSUMERPEER_EVENTS", consumerpeer.DefaultEvents)
	keys := envInt("CONSUMERPEER_KEYS", consumerpeer.DefaultKeys)
	h, err := consumerpeer.Start(ctx, events, keys, consumerpeer.DefaultPartitions)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	fmt.Printf("consumerpeer: %d events over %d keys, %d partitions, avg value %d B, pre-produced at %.0f events/s\n",
		h.Events, h.Keys, h.Partitions, h.AvgRecordBytes, h.ProduceRate)

	rates := map[string]float64{}
	cpus := map[string]float64{}
	run := 0
	for _, s := range sides() {
		b.Run(s.name, func(b *testing.B) {
			var total consumerpeer.Result
			for i := 0; i < b.N; i++ {
				run++
				res := runSide(b, h, s, fmt.Sprintf("bench-%s-%d", s.name, run))
				total.Handled += res.Handled
				total.Elapsed += res.Elapsed
				total.FirstToLast += res.FirstToLast
				total.Startup += res.Startup
				total.CPU += res.CPU
				total.OutOfOrder += res.OutOfOrder
				total.Duplicates += res.Duplicates
				total.MeanBatch += res.MeanBatch / float64(b.N)
			}
			rate := total.EventsPerSec()
			rates[s.name] = rate
			b.ReportMetric(rate, "events/s")
			if total.FirstToLast > 0 {
				b.ReportMetric(float64(total.Handled)/total.FirstToLast.Seconds(), "steady-events/s")
			}
			b.ReportMetric(float64(total.OutOfOrder), "out-of-order")
			b.ReportMetric(float64(total.Startup.Milliseconds())/float64(b.N), "startup-ms")
			if total.CPU > 0 {
				cpu := float64(total.CPU.Microseconds()) / float64(total.Handled)
				cpus[s.name] = cpu
				b.ReportMetric(cpu, "cpu-us/event")
			}
			b.ReportMetric(float64(total.Duplicates), "dups")
			if total.MeanBatch > 0 {
				b.ReportMetric(total.MeanBatch, "events/tx")
			}
		})
	}
	if w := rates["watermill"]; w > 0 {
		for _, name := range []string{"raw", "naive", "franzbatch", "causeway", "causeway-fetch128k"} {
			if r, ok := rates[name]; ok {
				fmt.Printf("consumerpeer: %s/watermill = %.2fx (%.0f vs %.0f events/s)", name, r/w, r, w)
				if c, wc := cpus[name], cpus["watermill"]; c > 0 && wc > 0 {
					fmt.Printf("; CPU per event %.2fx less (%.0f vs %.0f µs)", wc/c, c, wc)
				}
				fmt.Println()
			}
		}
	}
}
