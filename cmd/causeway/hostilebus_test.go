package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
)

// kcatProduce produces value under key on topic with kcat, the outside
// Kafka client (murmur2 partitioning, as the Go clients use).
func kcatProduce(t *testing.T, addr, topic, key string, value []byte) {
	t.Helper()
	if strings.ContainsRune(string(value), '\n') {
		t.Fatalf("kcat value with a newline: %q", value)
	}
	cmd := exec.Command("kcat", "-b", addr, "-P", "-t", topic, "-k", key, "-X", "partitioner=murmur2_random",
		"-X", "message.send.max.retries=100") // rides out a broker restart (the chaos run's)
	cmd.Stdin = strings.NewReader(string(value) + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P -t %s: %v\n%s", topic, err, out)
	}
}

// groupsReading lists the consumer groups of `up --saga choreography`
// that read topic, sorted.
func groupsReading(topic string) []string {
	var gs []string
	for g, topics := range map[string][]string{payment.Group: payment.Topics, inventory.Group: inventory.Topics,
		shipping.Group: shipping.Topics, email.Group: email.Topics, analytics.Group: analytics.Topics,
		ordersvc.SagaGroup: ordersvc.SagaTopics} {
		if slices.Contains(topics, topic) {
			gs = append(gs, g)
		}
	}
	slices.Sort(gs)
	return gs
}

// waitCaughtUp waits until every group has committed up to the end of
// what it reads (lag 0), so that what was produced before has been
// handled, dropped or dead-lettered.
func waitCaughtUp(t *testing.T, addr string, groups []string) {
	t.Helper()
	adm, err := kafka.NewAdmin(kafka.ClientConfig{Brokers: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		lags, err := adm.Lag(ctx, groups...)
		cancel()
		if err != nil {
			last = err.Error()
			continue
		}
		var behind []string
		for _, l := range lags.Sorted() {
			if l.Error() != nil || l.Lag.Total() != 0 {
				behind = append(behind, fmt.Sprintf("%s: lag %d (%v)", l.Group, l.Lag.Total(), l.Error()))
			}
		}
		if len(behind) == 0 && len(lags) == len(groups) {
			return
		}
		last = fmt.Sprint(behind)
	}
	t.Fatalf("groups not caught up after a minute: %s", last)
}

// TestHostileBusInput is the bus side of the hostile-input catalogue:
// records an outside producer (kcat) writes straight to the topics of a
// running `causeway up`. Each gets its documented answer (README, "Hostile
// input on the bus"), nothing crashes, and the platform goes on: an order
// placed afterwards ships.
//
//   - an order.placed with a foreign source on orders: dead-lettered by
//     every group reading orders (kind contract); no charge, no mail, no
//     order in the read model;
//   - an order.placed misrouted to inventory (right source, wrong topic):
//     dead-lettered by every group reading inventory (kind contract);
//   - a payment.succeeded for an order nobody placed: dead-lettered at
//     once by the order service (kind permanent: orders are created there,
//     so it can never apply); the inventory service keeps the fact
//     pending (an order.placed may legitimately come later, on another
//     topic); nothing is reserved, shipped or mailed;
//   - a finished order's own events re-produced out of order (its
//     payment.succeeded, then its order.placed: same event ids):
//     duplicates, dropped by every group's dedup — still one capture, one
//     reservation, one shipment, two mails;
//   - a late shipment.created (a new event id) for that shipped order: a
//     stale event, ignored;
//   - a forged order.placed under a live user's key, just before that
//     user's next order: dead-lettered (contract) without parking the key,
//     so the real order ships.
func TestHostileBusInput(t *testing.T) {
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Fatal("kcat not found: the hostile records are produced with it (apt-get install -y kcat)")
	}
	dir := t.TempDir()
	r := startUp(t, dir)
	base, addr := "http://"+r.rt.HTTPAddr, r.rt.KafkaAddr
	svc := openServices(t, dir)
	mail := openSQLite(t, filepath.Join(dir, "email.db"))

	a := place(t, base, sagaCases[0], "u-first")
	waitSettled(t, SagaChoreography, base, svc, []placedOrder{a})

	placedOf := func(orderID, user string) order.Placed {
		return order.Placed{OrderID: orderID, UserID: user, Currency: "USD", TotalMinor: 1000, PaymentMethod: "card_ok",
			Items:           []order.Item{{ProductID: "p-1", Quantity: 1, UnitPriceMinor: 1000}},
			ShippingAddress: order.Address{Name: "M", Line1: "1", City: "C", Country: "US"}, PlacedAt: time.Now()}
	}
	encode := func(env event.Envelope) []byte {
		b, err := json.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// 1. A forged order.placed: a foreign source on orders.
	forged, err := order.ToEnvelope(placedOf("o-forged", "u-forged"), event.StartFlow("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	kcatProduce(t, addr, kafka.TopicOrders, "u-forged", encode(forged))
	// 2. A misrouted order.placed: the order service's source, on inventory.
	misrouted, err := order.ToEnvelope(placedOf("o-misrouted", "u-misrouted"), event.StartFlow(schema.SourceOrder))
	if err != nil {
		t.Fatal(err)
	}
	kcatProduce(t, addr, kafka.TopicInventory, "o-misrouted", encode(misrouted))
	// 3. A payment for an order nobody placed.
	ghost, err := schema.New(schema.PaymentSucceeded{OrderID: "o-ghost", UserID: "u-ghost", PaymentID: "pay-ghost",
		AmountMinor: 1000, Currency: "USD"}, event.StartFlow(schema.SourcePayment))
	if err != nil {
		t.Fatal(err)
	}
	kcatProduce(t, addr, kafka.TopicPayments, "o-ghost", encode(ghost))
	// 4. Order a's own records again, out of order.
	ofA := func(topic, typ string) *kgo.Record {
		return consumeTopicUntil(t, addr, topic, func(rec *kgo.Record) bool {
			var env event.Envelope
			return json.Unmarshal(rec.Value, &env) == nil && env.EventType == typ && env.Metadata.CorrelationID == a.CorrelationID
		})
	}
	paidA, placedA := ofA(kafka.TopicPayments, schema.TypePaymentSucceeded), ofA(kafka.TopicOrders, order.TypePlaced)
	kcatProduce(t, addr, kafka.TopicPayments, string(paidA.Key), paidA.Value)
	kcatProduce(t, addr, kafka.TopicOrders, string(placedA.Key), placedA.Value)
	// 5. A late shipment.created for the shipped order, a new event.
	late, err := schema.New(schema.ShipmentCreated{OrderID: a.OrderID, ShipmentID: "ship-late", Carrier: "LATE", TrackingNumber: "LATE-1"},
		event.StartFlow(schema.SourceShipping))
	if err != nil {
		t.Fatal(err)
	}
	kcatProduce(t, addr, kafka.TopicShipping, a.OrderID, encode(late))

	// 6. A forged record under a live user's key, before that user's
	// next order: a contract letter does not park the key, so the order
	// is not held back.
	forgedLive, err := order.ToEnvelope(placedOf("o-forged-live", "u-after"), event.StartFlow("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	kcatProduce(t, addr, kafka.TopicOrders, "u-after", encode(forgedLive))

	// The platform goes on.
	b := place(t, base, sagaCases[0], "u-after")
	waitSettled(t, SagaChoreography, base, svc, []placedOrder{a, b})
	groups := slices.Concat(groupsReading(kafka.TopicOrders), groupsReading(kafka.TopicPayments),
		groupsReading(kafka.TopicInventory), groupsReading(kafka.TopicShipping))
	slices.Sort(groups)
	waitCaughtUp(t, addr, slices.Compact(groups))

	// Dead letters: exactly the contract breaches, one per group reading
	// their topic.
	type letter struct{ Group, Topic, Key, Kind, Error string }
	want := map[string][]string{"u-forged": groupsReading(kafka.TopicOrders), "o-misrouted": groupsReading(kafka.TopicInventory),
		"o-ghost": {ordersvc.SagaGroup}, "u-after": groupsReading(kafka.TopicOrders)}
	wantKind := map[string]string{"u-forged": consumer.KindContract, "o-misrouted": consumer.KindContract, "o-ghost": consumer.KindPermanent,
		"u-after": consumer.KindContract}
	wantText := map[string]string{"u-forged": `source "mallory"`, "o-misrouted": `"order.placed" does not belong on topic "inventory"`,
		"o-ghost": "never placed", "u-after": `source "mallory"`}
	var list struct{ Letters []letter }
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code := call(t, "GET", base+"/v1/dlq?limit=100", "", nil, &list); code != http.StatusOK {
			t.Fatalf("GET /v1/dlq: %d", code)
		}
		got := map[string][]string{}
		for _, l := range list.Letters {
			got[l.Key] = append(got[l.Key], l.Group)
		}
		for k := range got {
			slices.Sort(got[k])
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead letters by key %v, want %v\n%+v", got, want, list.Letters)
		}
	}
	for _, l := range list.Letters {
		if l.Kind != wantKind[l.Key] || !strings.Contains(l.Error, wantText[l.Key]) {
			t.Errorf("letter %+v: want kind %s, its error naming %s", l, wantKind[l.Key], wantText[l.Key])
		}
	}

	// No effect of the forged, misrouted or ghost events anywhere.
	for _, id := range []string{"o-forged", "o-misrouted", "o-ghost", "o-forged-live"} {
		if n := count(t, svc.payment, `SELECT COUNT(*) FROM payment_ledger WHERE order_id = $1`, id); n != 0 {
			t.Errorf("%s: %d payment ledger rows, want 0", id, n)
		}
		if n := count(t, svc.inventory, `SELECT COUNT(*) FROM inventory_orders WHERE order_id = $1 AND status <> 'pending'`, id); n != 0 {
			t.Errorf("%s: %d inventory orders past pending, want 0", id, n)
		}
		if n := count(t, svc.shipping, `SELECT COUNT(*) FROM shipping_orders WHERE order_id = $1`, id); n != 0 {
			t.Errorf("%s: %d shipping rows, want 0", id, n)
		}
		if n := count(t, mail, `SELECT COUNT(*) FROM email_messages WHERE order_id = $1`, id); n != 0 {
			t.Errorf("%s: %d mails, want 0", id, n)
		}
		if code := call(t, "GET", base+"/v1/orders/"+id, "", nil, nil); code != http.StatusNotFound {
			t.Errorf("GET /v1/orders/%s: %d, want 404", id, code)
		}
	}
	if n := count(t, svc.order, `SELECT COUNT(*) FROM order_saga_early`); n != 0 {
		t.Errorf("%d early events held, want 0", n)
	}
	if n := count(t, svc.inventory, `SELECT COUNT(*) FROM inventory_orders WHERE order_id = 'o-ghost' AND status = 'pending'`); n != 1 {
		t.Errorf("o-ghost: %d pending inventory facts, want 1", n)
	}
	// Order a: still shipped, every effect once.
	var st orderState
	call(t, "GET", base+"/v1/orders/"+a.OrderID, "", nil, &st)
	if st.Status != "shipped" {
		t.Errorf("order a is %q after its duplicates and a late event, want shipped", st.Status)
	}
	for q, want := range map[string]int{
		`SELECT COUNT(*) FROM payment_ledger WHERE order_id = $1 AND kind = 'capture'`: 1,
	} {
		if n := count(t, svc.payment, q, a.OrderID); n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	if n := count(t, svc.shipping, `SELECT COUNT(*) FROM shipping_orders WHERE order_id = $1`, a.OrderID); n != 1 {
		t.Errorf("order a: %d shipments, want 1", n)
	}
	if n := count(t, mail, `SELECT COUNT(*) FROM email_messages WHERE order_id = $1`, a.OrderID); n != 2 {
		t.Errorf("order a: %d mails, want 2 (received, shipped)", n)
	}
	var stream struct{ Events []struct{ EventType string } }
	call(t, "GET", base+"/v1/orders/"+a.OrderID+"/events", "", nil, &stream)
	var types []string
	for _, e := range stream.Events {
		types = append(types, e.EventType)
	}
	if !slices.Equal(types, sagaCases[0].events) {
		t.Errorf("order a's stream %v, want %v", types, sagaCases[0].events)
	}
}
