package outbox_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/postgres"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestTwoRelaysPostgres runs two relays, as two processes would, on one
// PostgreSQL schema, while rows are written through both handles. Leadership
// moves when the leader stops, comes back, and when its lock session is
// killed. Per-key order and completeness must hold throughout.
func TestTwoRelaysPostgres(t *testing.T) {
	ctx := context.Background()
	db1 := sqltest.Postgres(t, outbox.Migrations())
	db2, err := postgres.Open(ctx, sqltest.PostgresURL(t), db1.Schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db2.Close() })
	const topic = "orders"
	cluster := newCluster(t, topic)
	addrs := cluster.ListenAddrs()
	lockKey := rand.Int64()

	relays := [2]*outbox.Relay{}
	stops := [2]func() error{}
	start := func(i int, db *sqldb.DB) {
		relays[i] = outbox.NewRelay(db, newClient(t, addrs), outbox.LockKey(lockKey), outbox.BatchSize(25),
			outbox.PollInterval(5*time.Millisecond), outbox.LockRetry(5*time.Millisecond))
		stops[i] = runRelay(t, relays[i])
	}
	start(0, db1)
	start(1, db2)

	// Never two leaders while nobody kills a session.
	var both atomic.Int64
	sampling, stopSampling := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sampling.Err() == nil {
			if relays[0].Stats().Leader && relays[1].Stats().Leader {
				both.Add(1)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()

	want := map[string]int{}
	write := func(rows int) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := range rows / 4 {
					key := fmt.Sprintf("w%d-k%d", w, n%3)
					mu.Lock()
					m := msg(topic, key, want[key])
					want[key]++
					mu.Unlock()
					db := db1
					if n%2 == 1 {
						db = db2
					}
					enqueue(t, db, m)
				}
			}()
		}
		wg.Wait()
	}
	leader := func() int {
		var l int
		waitFor(t, "a leader", func() bool {
			for i, r := range relays {
				if r.Stats().Leader {
					l = i
					return true
				}
			}
			return false
		})
		return l
	}
	empty := func() { waitFor(t, "empty outbox", func() bool { return backlog(t, relays[0]) == 0 }) }

	write(200)
	l := leader()
	if err := stops[l](); err != nil {
		t.Fatalf("stop leader: %v", err)
	}
	before := relays[1-l].Stats().Published
	write(200) // only the other relay can publish these
	empty()
	// The relay counts a batch just after its delete commits, so the count
	// may trail the empty outbox for a moment.
	got := relays[1-l].Stats().Published - before
	for deadline := time.Now().Add(patience); got < 200 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
		got = relays[1-l].Stats().Published - before
	}
	if got < 200 {
		t.Fatalf("after the leader stopped, the other relay published %d rows, want >= 200", got)
	}
	stops[l] = runRelay(t, relays[l]) // the same relay runs again
	write(200)
	empty()
	stopSampling()
	<-sampled

	// Kill the leader's lock session under it.
	l = leader()
	res, err := db1.Write.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 AND objsubid = 1`,
		int64(uint32(uint64(lockKey)>>32)), int64(uint32(uint64(lockKey))))
	if err != nil {
		t.Fatalf("terminate leader session: %v", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d lock sessions, want 1", n)
	}
	write(200)
	empty()

	published := [2]uint64{relays[0].Stats().Published, relays[1].Stats().Published}
	for i := range stops {
		if err := stops[i](); err != nil {
			t.Fatalf("stop relay %d: %v", i, err)
		}
	}
	if got := both.Load(); got != 0 {
		t.Errorf("both relays were leaders in %d samples", got)
	}
	if published[0]+published[1] == 0 {
		t.Errorf("nothing published")
	}
	total := 0
	for _, n := range want {
		total += n
	}
	recs := consume(t, addrs, topic, func(rs []*kgo.Record) bool { return distinct(rs) >= total })
	dups := checkOrder(t, recs, want)
	t.Logf("%d rows, %d records (%d duplicates); published by the last two relay runs: %v", total, len(recs), dups, published)
}
