package projection_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestRebuildEqualsLive rebuilds while traffic and the live runner go on,
// with a reader querying the live table throughout: the reader never
// misses the table or a key, progress is monotonic, and the rebuilt model
// equals the expected one row for row.
func TestRebuildEqualsLive(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, projection.Migrations())
		b := startBroker(t, 3, testTopic)
		prod := newProducer(t, b.Addr(), testTopic)
		p := &counts{}
		const keys = 23
		prod.produce(600, keys)
		live := newRunner(t, db, b, p, projection.WithBatchMax(100))
		start(t, live)
		eventually(t, "the live model", func() bool { return reached(t, db, p.Name(), prod.position()) })

		// Live traffic while rebuilding.
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				prod.produce(5, keys)
				time.Sleep(10 * time.Millisecond)
			}
		}()
		var reads, readErrs atomic.Int64
		var readErr atomic.Value
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var n int
				err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM key_counts`).Scan(&n)
				if ctx.Err() != nil {
					return
				}
				reads.Add(1)
				if err != nil || n != keys {
					readErrs.Add(1)
					readErr.Store([2]any{n, err})
				}
			}
		}()

		var progress []projection.Progress
		rebuilder := newRunner(t, db, b, p, projection.WithBatchMax(100))
		res, err := rebuilder.Rebuild(context.Background(),
			projection.WithProgress(func(pr projection.Progress) { progress = append(progress, pr) }),
			projection.WithProgressInterval(time.Millisecond), projection.WithSwapLag(50))
		if err != nil {
			t.Fatalf("Rebuild: %v", err)
		}
		// Traffic goes on a little after the swap, into the new tables.
		time.Sleep(50 * time.Millisecond)
		cancel()
		wg.Wait()
		eventually(t, "the live runner after the swap", func() bool { return reached(t, db, p.Name(), prod.position()) })

		if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
			t.Fatalf("rebuilt model: %s", d)
		}
		if res.Generation != 2 || res.Events < 600 {
			t.Errorf("result %+v: want generation 2 and ≥ 600 events", res)
		}
		if n := readErrs.Load(); n > 0 || reads.Load() == 0 {
			t.Errorf("%d of %d reads during the rebuild failed or saw a partial table; last %v", n, reads.Load(), readErr.Load())
		}
		checkProgress(t, progress)

		// Shadow tables are gone; a second rebuild works too (index and
		// constraint names do not clash).
		if _, err := rebuilder.Rebuild(context.Background()); err != nil {
			t.Fatalf("second Rebuild: %v", err)
		}
		eventually(t, "after the second rebuild", func() bool { return reached(t, db, p.Name(), prod.position()) })
		if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
			t.Fatalf("twice rebuilt model: %s", d)
		}
	})
}

func checkProgress(t *testing.T, progress []projection.Progress) {
	t.Helper()
	if len(progress) < 3 {
		t.Fatalf("got %d progress reports, want several", len(progress))
	}
	for i, p := range progress {
		if p.Total < p.Done {
			t.Errorf("progress %d: total %d < done %d", i, p.Total, p.Done)
		}
		if i > 0 && p.Done < progress[i-1].Done {
			t.Errorf("progress %d: done went back from %d to %d", i, progress[i-1].Done, p.Done)
		}
	}
	if last := progress[len(progress)-1]; last.Phase != projection.PhaseDone || last.Done == 0 || last.Rate <= 0 {
		t.Errorf("last progress %+v: want phase done with events and a rate", last)
	}
}

// TestRebuildFromEventStore: the topic lost its first records to
// retention; a rebuild from the topic alone refuses, one with the event
// store as History rebuilds everything (events in both applied once).
func TestRebuildFromEventStore(t *testing.T) {
	db := sqltest.SQLite(t, projection.Migrations(), sqlstore.Migrations())
	store := sqlstore.New(db)
	b := startBroker(t, 2, testTopic)
	prod := newProducer(t, b.Addr(), testTopic)
	p := &counts{}
	prod.produce(300, 9)
	for _, e := range prod.envs {
		if _, err := store.Append(context.Background(), "s-"+e.EventID, eventstore.NoStream, []event.Envelope{e}); err != nil {
			t.Fatal(err)
		}
	}
	live := newRunner(t, db, b, p)
	start(t, live)
	eventually(t, "the live model", func() bool { return reached(t, db, p.Name(), prod.position()) })

	// Retention: delete the first 100 records of every partition.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(context.Background(), testTopic)
	if err != nil {
		t.Fatal(err)
	}
	del := kadm.Offsets{}
	ends.Each(func(o kadm.ListedOffset) { del.AddOffset(o.Topic, o.Partition, min(o.Offset, 100), -1) })
	if _, err := adm.DeleteRecords(context.Background(), del); err != nil {
		t.Fatal(err)
	}

	if _, err := live.Rebuild(context.Background()); !errors.Is(err, projection.ErrHistoryTruncated) {
		t.Fatalf("Rebuild without history = %v, want ErrHistoryTruncated", err)
	}
	var progress []projection.Progress
	res, err := live.Rebuild(context.Background(), projection.WithHistory(projection.EventStoreHistory(store, testTopic)),
		projection.WithProgress(func(pr projection.Progress) { progress = append(progress, pr) }),
		projection.WithProgressInterval(time.Millisecond))
	if err != nil {
		t.Fatalf("Rebuild with history: %v", err)
	}
	if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
		t.Fatalf("rebuilt from the event store: %s", d)
	}
	if res.Events < 300 {
		t.Errorf("processed %d events, want ≥ 300", res.Events)
	}
	checkProgress(t, progress)
	if progress[0].Total < 300+100 {
		t.Errorf("first total %d, want the store's 300 plus the topic's remaining records", progress[0].Total)
	}
}

func TestRebuildNeedsSchema(t *testing.T) {
	db := sqltest.SQLite(t, projection.Migrations())
	b := startBroker(t, 1, testTopic)
	r := newRunner(t, db, b, noSchema{})
	if _, err := r.Rebuild(context.Background()); !errors.Is(err, projection.ErrNoSchema) {
		t.Fatalf("Rebuild = %v, want ErrNoSchema", err)
	}
}

type noSchema struct{}

func (noSchema) Name() string     { return "plain" }
func (noSchema) Topics() []string { return []string{testTopic} }
func (noSchema) Apply(context.Context, *sqldb.Tx, projection.Tables, projection.Message) error {
	return nil
}
