package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

var errCrash = errors.New("simulated crash between ack and delete")

// TestRelayCrash kills the relay again and again while writers keep
// enqueueing — by cancelling its context, by closing its Kafka client under
// it, or by "crashing" between the broker's ack and the delete — and
// restarts it each time. In the end every row must be on the bus at least
// once, per key in order of first occurrence, and the outbox empty.
func TestRelayCrash(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open openFunc) {
		db := open(t, outbox.Migrations())
		const topic = "crash"
		cluster := newCluster(t, topic)
		addrs := cluster.ListenAddrs()

		seed := uint64(time.Now().UnixNano())
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 1))

		const writers, keysPerWriter, rowsPerCycle = 4, 4, 40
		cycles := 24
		if testing.Short() {
			cycles = 9
		}
		// Each writer owns its keys, so per key the commit order is the id
		// order; on PostgreSQL the writers' transactions interleave, which
		// makes ids become visible out of order across keys.
		want := map[string]int{}
		var wantMu sync.Mutex
		write := func(w, cycle int) {
			wr := rand.New(rand.NewPCG(seed, uint64(1000*cycle+w+2)))
			for n := 0; n < rowsPerCycle; {
				size := 1 + wr.IntN(8)
				var msgs []outbox.Message
				wantMu.Lock()
				for range size {
					key := fmt.Sprintf("w%d-k%d", w, wr.IntN(keysPerWriter))
					msgs = append(msgs, msg(topic, key, want[key]))
					want[key]++
				}
				wantMu.Unlock()
				if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
					return outbox.Enqueue(context.Background(), tx, msgs...)
				}); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				n += size
			}
		}

		var kinds [3]int
		for cycle := range cycles {
			var wg sync.WaitGroup
			for w := range writers {
				wg.Add(1)
				go func() { defer wg.Done(); write(w, cycle) }()
			}
			kind := cycle % 3
			crashP := 0.0
			if kind == 2 {
				crashP = 0.5
			}
			hook := func(context.Context, []int64) error {
				wantMu.Lock()
				defer wantMu.Unlock()
				if rng.Float64() < crashP {
					return errCrash
				}
				return nil
			}
			cl := newClient(t, addrs)
			r := outbox.NewRelay(db, cl, outbox.BatchSize(1+rng.IntN(40)),
				outbox.Backoff(time.Millisecond, 20*time.Millisecond), outbox.WithAfterAckHook(hook))
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()

			wantMu.Lock()
			delay := time.Duration(rng.IntN(15000)) * time.Microsecond
			wantMu.Unlock()
			var err error
			switch kind {
			case 0: // the process is stopped
				time.Sleep(delay)
				cancel()
				err = <-done
			case 1: // the client dies under the relay
				time.Sleep(delay)
				cl.Close()
				wg.Wait()
				cancel()
				err = <-done
			case 2: // a crash after the ack, before the delete
				wg.Wait()
				select {
				case err = <-done:
				case <-waitEmpty(t, r):
					cancel()
					err = <-done
				}
			}
			cancel()
			wg.Wait()
			cl.Close()
			switch {
			case err == nil:
			case errors.Is(err, kgo.ErrClientClosed) && kind == 1:
			case errors.Is(err, errCrash) && kind == 2:
				kinds[2]++
			default:
				t.Fatalf("cycle %d: Run = %v", cycle, err)
			}
			if kind != 2 {
				kinds[kind]++
			}
		}

		// Restart once more and let it finish.
		r := outbox.NewRelay(db, newClient(t, addrs), outbox.BatchSize(100))
		stop := runRelay(t, r)
		waitFor(t, "empty outbox", func() bool { return backlog(t, r) == 0 })
		if err := stop(); err != nil {
			t.Fatalf("final Run = %v", err)
		}

		total := 0
		for _, n := range want {
			total += n
		}
		recs := consume(t, addrs, topic, func(rs []*kgo.Record) bool { return distinct(rs) >= total })
		dups := checkOrder(t, recs, want)
		if got := backlog(t, r); got != 0 {
			t.Errorf("outbox holds %d rows at the end, want 0", got)
		}
		t.Logf("%d rows, %d records on the bus (%d duplicates); stops: %d cancel, %d client close, %d crash after ack",
			total, len(recs), dups, kinds[0], kinds[1], kinds[2])
		if kinds[2] == 0 {
			t.Errorf("no crash between ack and delete was simulated")
		} else if dups == 0 {
			t.Errorf("crashes after the ack left no duplicates: were rows deleted before the hook?")
		}
	})
}

// waitEmpty returns a channel closed once the outbox is empty.
func waitEmpty(t testing.TB, r *outbox.Relay) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		deadline := time.Now().Add(patience)
		for time.Now().Before(deadline) {
			if n, err := r.Backlog(context.Background()); err == nil && n == 0 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return ch
}
