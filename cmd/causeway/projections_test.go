package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
	"github.com/causeway-dev/causeway/sqlite"
)

func rsOrderBody(user, method string) string {
	return `{"userId": "` + user + `", "items": [{"productId": "p-3", "quantity": 2}, {"productId": "p-4", "quantity": 1}], "currency": "USD",
 "paymentMethod": "` + method + `", "shippingAddress": {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "country": "US"}}`
}

type rsPlaced struct{ OrderID, ConsistencyToken string }

// rsPlace places an order; ok is false (and the test marked failed) if
// it was refused. Safe from any goroutine.
func rsPlace(t *testing.T, base string, i int) (rsPlaced, bool) {
	t.Helper()
	method := "card_ok"
	if i%5 == 4 {
		method = "card_declined"
	}
	var p rsPlaced
	res, err := http.Post(base+"/v1/orders", "application/json", strings.NewReader(rsOrderBody(fmt.Sprintf("u-rs-%d", i%3), method)))
	if err != nil {
		t.Errorf("place: %v", err)
		return p, false
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusAccepted || json.NewDecoder(res.Body).Decode(&p) != nil {
		t.Errorf("place: %d", res.StatusCode)
		return p, false
	}
	return p, true
}

// TestReadSideEndToEnd: read-your-writes through the POST's token, the
// user's orders, then a rebuild of order_view with traffic continuing —
// the rebuilt model equals one built from scratch, row for row.
func TestReadSideEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end (skipped under -short)")
	}
	dir := t.TempDir()
	up := startUp(t, dir)
	base := "http://" + up.rt.HTTPAddr

	// Read-your-writes: with the token, the read model has the order.
	var placed []rsPlaced
	for i := range 12 {
		p, ok := rsPlace(t, base, i)
		if !ok {
			t.FailNow()
		}
		placed = append(placed, p)
		var o struct {
			OrderID, Status, Source string
			Stale                   bool
		}
		res := call(t, "GET", base+"/v1/orders/"+p.OrderID+"?consistentWith="+p.ConsistencyToken, "", nil, &o)
		if res != http.StatusOK || o.OrderID != p.OrderID || o.Source != "read-model" || o.Stale {
			t.Fatalf("GET with token: %d %+v", res, o)
		}
	}
	var page struct {
		Orders     []struct{ OrderID string }
		NextCursor string
		Stale      bool
	}
	last := placed[len(placed)-1]
	if code := call(t, "GET", base+"/v1/users/u-rs-2/orders?limit=2", "", map[string]string{"X-Consistent-With": last.ConsistencyToken}, &page); code != http.StatusOK ||
		len(page.Orders) != 2 || page.Orders[0].OrderID != last.OrderID || page.NextCursor == "" || page.Stale {
		t.Fatalf("user orders: %d %+v", code, page)
	}
	if code := call(t, "GET", base+"/v1/orders/"+last.OrderID+"?consistentWith=garbage", "", nil, nil); code != http.StatusBadRequest {
		t.Errorf("garbage token: %d", code)
	}

	// Rebuild with traffic continuing.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	wg.Go(func() {
		for i := 100; i < 400; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p, ok := rsPlace(t, base, i)
			if !ok {
				return
			}
			mu.Lock()
			placed = append(placed, p)
			mu.Unlock()
		}
	})
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"projections", "rebuild", readmodel.OrderViewName, "--data-dir", dir, "--brokers", up.rt.KafkaAddr, "--timeout", "2m"})
	err := root.ExecuteContext(context.Background())
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("rebuild: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "rebuilt order_view") || !strings.Contains(errOut.String(), "ETA") || !strings.Contains(errOut.String(), "events") {
		t.Errorf("rebuild output: %q, progress %q", out.String(), errOut.String())
	}
	mu.Lock()
	n := len(placed)
	last = placed[n-1]
	mu.Unlock()
	t.Logf("%d orders; %s; progress: %s", n, strings.TrimSpace(out.String()), lastLine(errOut.String()))

	// Queries work after the swap and catch up with the writes (the live
	// runner backs off while the swap holds the lock, so one bounded
	// wait may answer stale).
	for try := 0; ; try++ {
		var o struct{ Stale bool }
		code := call(t, "GET", base+"/v1/orders/"+last.OrderID+"?consistentWith="+last.ConsistencyToken, "", nil, &o)
		if code != http.StatusOK {
			t.Fatalf("after rebuild: %d", code)
		}
		if !o.Stale {
			break
		}
		if try == 10 {
			t.Fatal("after rebuild: still stale after 10 bounded waits")
		}
	}

	// Let the sagas settle: every order terminal in the read model and
	// the topics' ends steady.
	ctx := context.Background()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("orders did not settle within 60s")
		}
		settled := true
		for _, p := range placed {
			var st struct{ Status string }
			call(t, "GET", base+"/v1/orders/"+p.OrderID, "", nil, &st)
			if st.Status != "shipped" && st.Status != "cancelled" {
				settled = false
				break
			}
		}
		if settled {
			break
		}
	}
	ends := rsSteadyEnds(t, up.rt.KafkaAddr)

	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	liveDB, err := sqlite.Open(ctx, filepath.Join(dir, "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer liveDB.Close()
	live, err := readmodel.New(ctx, liveDB, codec)
	if err != nil {
		t.Fatal(err)
	}
	freshDB, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer freshDB.Close()
	if err := readmodel.Migrate(ctx, freshDB); err != nil {
		t.Fatal(err)
	}
	fresh, err := readmodel.New(ctx, freshDB, codec,
		readmodel.WithRunnerOptions(projection.WithKafkaOpts(kgo.SeedBrokers(up.rt.KafkaAddr))))
	if err != nil {
		t.Fatal(err)
	}
	fctx, fcancel := context.WithCancel(ctx)
	fresh.Start(fctx)
	defer func() { fcancel(); fresh.Wait() }()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	if err := live.CatchUp(wctx, ends); err != nil {
		t.Fatalf("live: %v", err)
	}
	if err := fresh.CatchUp(wctx, ends); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	for _, q := range rsCompared {
		a, b := rsDump(t, liveDB, q), rsDump(t, freshDB, q)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("rebuilt and fresh differ (%d vs %d rows) for %.40s…", len(a), len(b), q)
			for i := 0; i < min(len(a), len(b)); i++ {
				if !reflect.DeepEqual(a[i], b[i]) {
					t.Errorf("first difference: rebuilt %v, fresh %v", a[i], b[i])
					break
				}
			}
		}
	}
	var placedRows int
	if err := liveDB.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM order_views WHERE placed = 1`).Scan(&placedRows); err != nil || placedRows != n {
		t.Errorf("order_views: %d placed orders, want %d (%v)", placedRows, n, err)
	}

	// Retention trimmed the orders topic: a rebuild from the topics
	// refuses (it would miss orders); from the event store it is whole.
	truncateTopic(t, up.rt.KafkaAddr, "orders")
	for _, from := range []string{"topics", "eventstore"} {
		root := newRootCmd()
		var rout, rerr bytes.Buffer
		root.SetOut(&rout)
		root.SetErr(&rerr)
		root.SetArgs([]string{"projections", "rebuild", readmodel.OrderViewName, "--from", from, "--data-dir", dir, "--brokers", up.rt.KafkaAddr, "--timeout", "2m"})
		err := root.ExecuteContext(ctx)
		if from == "topics" {
			if !errors.Is(err, projection.ErrHistoryTruncated) {
				t.Fatalf("rebuild from a trimmed topic: err = %v, want ErrHistoryTruncated", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("rebuild --from eventstore: %v\n%s", err, rerr.String())
		}
		t.Logf("from the event store: %s", strings.TrimSpace(rout.String()))
	}
	for _, q := range rsCompared {
		if a, b := rsDump(t, liveDB, q), rsDump(t, freshDB, q); len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("rebuilt from the event store and fresh differ (%d vs %d rows) for %.40s…", len(a), len(b), q)
		}
	}

	// projections list shows every projection with its lag.
	root = newRootCmd()
	out.Reset()
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs([]string{"projections", "list", "--data-dir", dir, "--brokers", up.rt.KafkaAddr})
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("list: %v", err)
	}
	for _, name := range readmodel.Names() {
		if !strings.Contains(out.String(), name) {
			t.Errorf("list lacks %s:\n%s", name, out.String())
		}
	}
}

// rsCompared are the queries whose rows a rebuilt order_view must share
// with one built from scratch.
var rsCompared = []string{
	`SELECT order_id, placed, user_id, status, reason, currency, total_minor, payment_method, items, address, correlation_id,
			placed_at, updated_at, version, paid, reserved, shipped, refunded, released, payment_id, carrier, tracking FROM order_views ORDER BY order_id`,
	`SELECT order_id, event_id, event_type, at, topic FROM order_timeline ORDER BY order_id, event_id`,
}

// testAdmin returns an admin client of the broker at addr, closed when
// the test ends.
func testAdmin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// truncateTopic deletes every record of topic up to its end offsets, as
// retention would.
func truncateTopic(t *testing.T, addr, topic string) {
	t.Helper()
	adm := testAdmin(t, addr)
	ctx := context.Background()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	offs := kadm.Offsets{}
	ends.Each(func(o kadm.ListedOffset) {
		offs.Add(kadm.Offset{Topic: o.Topic, Partition: o.Partition, At: o.Offset})
	})
	res, err := adm.DeleteRecords(ctx, offs)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Error(); err != nil {
		t.Fatalf("delete records of %s: %v", topic, err)
	}
}

// rsSteadyEnds returns the end offsets of the read topics once two reads
// in a row agree.
func rsSteadyEnds(t *testing.T, addr string) map[projection.TopicPartition]int64 {
	t.Helper()
	adm := testAdmin(t, addr)
	read := func() map[projection.TopicPartition]int64 {
		ends, err := adm.ListEndOffsets(context.Background(), readTopics()...)
		if err != nil {
			t.Fatal(err)
		}
		out := map[projection.TopicPartition]int64{}
		ends.Each(func(o kadm.ListedOffset) {
			out[projection.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
		})
		return out
	}
	prev := read()
	for range 100 {
		time.Sleep(300 * time.Millisecond)
		cur := read()
		if reflect.DeepEqual(prev, cur) {
			return cur
		}
		prev = cur
	}
	t.Fatal("topics never steady")
	return nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\r'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func rsDump(t *testing.T, db *sqldb.DB, q string) [][]any {
	t.Helper()
	_, rows := sqltest.Rows(t, db, q)
	return rows
}
