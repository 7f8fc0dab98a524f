package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/kafka"
)

// TestProjectionsParked: on causeway up, an order event of an unknown
// version parks its key in the read model, orders of other users keep
// being answered with read-your-writes, `projections list` counts it,
// `projections parked` lists it, --replay refuses (still unknown) and
// --discard releases it.
func TestProjectionsParked(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end (skipped under -short)")
	}
	dir := t.TempDir()
	up := startUp(t, dir)
	base := "http://" + up.rt.HTTPAddr
	ctx := context.Background()

	bad := produceUnknownVersion(t, up.rt.KafkaAddr, "u-parked")
	// Orders of other users are applied and read fresh.
	for i := range 6 {
		p, ok := rsPlace(t, base, i)
		if !ok {
			t.FailNow()
		}
		var o struct{ Source string }
		if code := call(t, "GET", base+"/v1/orders/"+p.OrderID+"?consistentWith="+p.ConsistencyToken, "", nil, &o); code != http.StatusOK || o.Source != "read-model" {
			t.Fatalf("GET with token: %d %+v", code, o)
		}
	}
	run := func(args ...string) (string, error) {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(append(args, "--data-dir", dir))
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	var (
		out string
		err error
	)
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out, bad.EventID); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never parked:\n%s", out)
		}
		if out, err = run("projections", "parked", "order_view"); err != nil {
			t.Fatalf("parked: %v\n%s", err, out)
		}
	}
	if !strings.Contains(out, "u-parked") || !strings.Contains(out, "unknown event version") {
		t.Errorf("parked list: %s", out)
	}
	if out, err = run("projections", "list", "--brokers", up.rt.KafkaAddr, "-o", "json"); err != nil || !strings.Contains(out, `"parked": 1`) {
		t.Errorf("list: %v\n%s", err, out)
	}
	if out, err = run("projections", "parked", "order_view", "--replay"); err == nil || !strings.Contains(err.Error(), "--topic") {
		t.Errorf("--replay without --topic: %v", err)
	}
	if out, err = run("projections", "parked", "order_view", "--replay", "--topic", "orders", "--key", "u-parked"); err == nil {
		t.Errorf("replay of a still-unknown version succeeded:\n%s", out)
	}
	if out, err = run("projections", "parked", "order_view", "--discard", "--topic", "orders", "--key", "u-parked"); err != nil || !strings.Contains(out, "1 parked events") {
		t.Fatalf("discard: %v\n%s", err, out)
	}
	if out, err = run("projections", "parked", "order_view"); err != nil || strings.Contains(out, bad.EventID) {
		t.Errorf("still parked after discard: %v\n%s", err, out)
	}
}

// produceUnknownVersion produces an order.placed of version 99 (which no
// reader knows) for user on orders and returns it.
func produceUnknownVersion(t *testing.T, addr, user string) event.Envelope {
	t.Helper()
	bad, err := order.ToEnvelope(order.Placed{OrderID: "o-" + user, UserID: user, Currency: "USD", TotalMinor: 1,
		PaymentMethod: "card_ok", Items: []order.Item{{ProductID: "p-1", Quantity: 1, UnitPriceMinor: 1}},
		ShippingAddress: order.Address{Name: "A", Line1: "1", City: "C", Country: "US"}, PlacedAt: time.Now()}, event.StartFlow("test"))
	if err != nil {
		t.Fatal(err)
	}
	bad.Version = 99
	val, _ := bad.MarshalJSON()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: kafka.TopicOrders, Key: []byte(user), Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return bad
}
