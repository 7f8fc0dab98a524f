package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// crashCases are the saga paths of the crash test (no customer cancel:
// its outcome depends on timing). Every order's stream must be in saga
// order after the kills too: after a restart the order service may meet
// payment.refunded before stock.reserved (different topics) and holds it
// until stock.reserved is handled.
func crashCases() []sagaCase {
	var out []sagaCase
	for _, c := range sagaCases {
		if !c.cancel {
			out = append(out, c)
		}
	}
	return out
}

// crashOrders is the number of orders of each mode of TestCrashUp: 200,
// fewer with -short or the race detector (which slows the child processes
// several times), or CAUSEWAY_CRASH_ORDERS.
func crashOrders(t *testing.T) int {
	if v := os.Getenv("CAUSEWAY_CRASH_ORDERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("CAUSEWAY_CRASH_ORDERS=%q: want a number ≥ 10", v)
		}
		return n
	}
	switch {
	case testing.Short():
		return 40
	case raceEnabled:
		return 40
	}
	return 200
}

// crashOrder is one order of the crash test: its request, and its answer
// once accepted.
type crashOrder struct {
	key, body string
	c         sagaCase
	placed    placedOrder
	accepted  bool
}

// postOrders places the orders not accepted yet with 8 concurrent clients,
// each with its Idempotency-Key, so that an order placed by a request whose
// answer was lost (the process was killed) is found again by the retry.
// onAccepted runs after each 202 with the number accepted so far. It
// returns how many were accepted in this call.
func postOrders(base string, orders []*crashOrder, onAccepted func(total int64)) int {
	var total atomic.Int64
	for _, o := range orders {
		if o.accepted {
			total.Add(1)
		}
	}
	client := &http.Client{Timeout: 20 * time.Second}
	work := make(chan *crashOrder)
	var wg sync.WaitGroup
	var now atomic.Int64
	for range 8 {
		wg.Go(func() {
			for o := range work {
				req, err := http.NewRequest("POST", base+"/v1/orders", strings.NewReader(o.body))
				if err != nil {
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", o.key)
				res, err := client.Do(req)
				if err != nil {
					continue // killed: retried after the restart
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var ans struct{ OrderID, CorrelationID string }
				if res.StatusCode != http.StatusAccepted || json.Unmarshal(b, &ans) != nil || ans.OrderID == "" {
					continue
				}
				o.placed = placedOrder{OrderID: ans.OrderID, CorrelationID: ans.CorrelationID, c: o.c}
				o.accepted = true
				now.Add(1)
				if onAccepted != nil {
					onAccepted(total.Add(1))
				}
			}
		})
	}
	for _, o := range orders {
		if !o.accepted {
			work <- o
		}
	}
	close(work)
	wg.Wait()
	return int(now.Load())
}

// TestCrashUp kills `causeway up` (a child process: services, SQLite and
// the embedded broker together) with SIGKILL twice while orders are in
// flight — once in the middle of placing them, once right after the last
// one was accepted — and restarts it on the same data dir each time. Every
// accepted order must then reach the outcome of its path, with no effect
// duplicated and stock and money conserved. It runs in both saga modes
// (under orchestration the saga instances must end completed or
// compensated too).
func TestCrashUp(t *testing.T) {
	for _, mode := range []string{SagaChoreography, SagaOrchestration} {
		t.Run(mode, func(t *testing.T) { testCrashUp(t, mode) })
	}
}

func testCrashUp(t *testing.T, mode string) {
	n := crashOrders(t)
	dir := t.TempDir()
	cases := crashCases()
	orders := make([]*crashOrder, n)
	for i := range orders {
		c := cases[i%len(cases)]
		orders[i] = &crashOrder{key: fmt.Sprintf("crash-%s-%d", mode, i), body: orderBodyFor(c, fmt.Sprintf("u-crash-%d", i%40)), c: c}
	}
	start := func(run int) (*proc, string) {
		p := startProc(t, fmt.Sprintf("up run %d", run), "up", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--kafka-addr", "127.0.0.1:0", "--saga", mode)
		rt := p.waitRuntime(dir)
		return p, "http://" + rt.HTTPAddr
	}

	// Run 1: killed in the middle of placing the orders.
	p, base := start(1)
	began := time.Now()
	var once sync.Once
	got := postOrders(base, orders, func(total int64) {
		if total >= int64(n/3) {
			once.Do(p.kill)
		}
	})
	p.kill()
	t.Logf("run 1: %d of %d orders accepted, then kill -9", got, n)

	// Run 2: the rest placed (retries with the same keys), killed at once
	// after the last was accepted, while most are still in flight.
	p, base = start(2)
	got = postOrders(base, orders, nil)
	p.kill()
	for _, o := range orders {
		if !o.accepted {
			t.Fatalf("order %s not accepted after the restart", o.key)
		}
	}
	// How far the sagas got before the kill (a lower bound of the orders
	// in flight: those not even paid yet).
	dead := openServices(t, dir)
	unpaid := n - count(t, dead.payment, `SELECT COUNT(*) FROM payments`)
	unshipped := n - count(t, dead.shipping, `SELECT COUNT(*) FROM shipping_orders WHERE status IN ('created', 'failed', 'cancelled')`)
	for _, db := range []*sqldb.DB{dead.order, dead.payment, dead.inventory, dead.shipping} {
		db.Close()
	}
	t.Logf("run 2: %d more accepted, then kill -9 with the sagas in flight: %d orders without a payment, %d without a final shipping row",
		got, unpaid, unshipped)

	// Run 3: every saga finishes.
	p, base = start(3)
	placed := make([]placedOrder, n)
	seen := map[string]string{}
	for i, o := range orders {
		placed[i] = o.placed
		if k, dup := seen[o.placed.OrderID]; dup {
			t.Errorf("keys %s and %s placed the same order %s", k, o.key, o.placed.OrderID)
		}
		seen[o.placed.OrderID] = o.key
	}
	svc := openServices(t, dir)
	waitSettled(t, mode, base, svc, placed)
	t.Logf("run 3: %d orders terminal with their expected outcome %v after the first POST", n, time.Since(began).Round(time.Millisecond))
	if got := count(t, svc.payment, `SELECT COUNT(DISTINCT order_id) FROM payments`); got != n {
		t.Errorf("payments of %d orders, want %d (one per placed order)", got, n)
	}
	checkConservation(t, base, svc, placed)
	p.interrupt()
}
