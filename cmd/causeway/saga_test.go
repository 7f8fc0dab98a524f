package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// sagaCase is one path of the saga and what it must leave behind, in
// both modes: the same final status and reason, the same order events,
// the same captures and refunds. The participants' own rows differ: under
// orchestration a participant only knows the orders it got a command for
// ("" = no row).
type sagaCase struct {
	name, method, product, country string
	cancel                         bool // customer cancel once paid or reserved
	status, reason                 string
	events                         []string // the order's event types, in order ("order.reserved?" may be absent)
	captures, refunds              int
	inventory, shipping            []string // accepted final row statuses, choreography
	oInventory, oShipping          []string // the same under orchestration (nil: as choreography)
}

var sagaCases = []sagaCase{
	{name: "success", method: "card_ok", product: "p-1", country: "US", status: "shipped",
		events:   []string{"order.placed", "order.paid", "order.reserved", "order.shipped"},
		captures: 1, inventory: []string{"reserved"}, shipping: []string{"created"}},
	{name: "card_declined", method: "card_declined", product: "p-1", country: "US", status: "cancelled", reason: "payment_failed",
		events:    []string{"order.placed", "order.cancelled"},
		inventory: []string{"cancelled"}, shipping: []string{"cancelled"}, oInventory: []string{""}, oShipping: []string{""}},
	{name: "sold_out", method: "card_ok", product: "p-sold-out", country: "US", status: "cancelled", reason: "out_of_stock",
		events:   []string{"order.placed", "order.paid", "order.cancelled"},
		captures: 1, refunds: 1, inventory: []string{"failed"}, shipping: []string{"cancelled"}, oShipping: []string{""}},
	{name: "country_XX", method: "card_ok", product: "p-3", country: "XX", status: "cancelled", reason: "shipping_failed",
		// Under choreography payment.refunded (payments) can overtake
		// stock.reserved (inventory) on its way to the order service; the
		// order service holds it until it has handled stock.reserved, so
		// the stream is in saga order.
		events:   []string{"order.placed", "order.paid", "order.reserved", "order.cancelled"},
		captures: 1, refunds: 1, inventory: []string{"released"}, shipping: []string{"failed"}},
	{name: "customer_cancel", method: "card_ok", product: "p-4", country: "US", cancel: true, status: "cancelled", reason: "customer_cancelled",
		events:   []string{"order.placed", "order.paid", "order.reserved?", "order.cancelled"},
		captures: 1, refunds: 1, inventory: []string{"released", "cancelled"}, shipping: []string{"cancelled"},
		oInventory: []string{"released"}, oShipping: []string{"cancelled", ""}},
	{name: "card_flaky", method: "card_flaky", product: "p-5", country: "US", status: "shipped",
		events:   []string{"order.placed", "order.paid", "order.reserved", "order.shipped"},
		captures: 1, inventory: []string{"reserved"}, shipping: []string{"created"}},
}

// rows returns the accepted participant row statuses of c in mode.
func (c sagaCase) rows(mode string) (inv, ship []string) {
	inv, ship = c.inventory, c.shipping
	if mode == SagaOrchestration {
		if c.oInventory != nil {
			inv = c.oInventory
		}
		if c.oShipping != nil {
			ship = c.oShipping
		}
	}
	return inv, ship
}

// eventsMatch reports whether the order's event types are want's ("X?"
// may be absent).
func eventsMatch(got, want []string) bool {
	i := 0
	for _, w := range want {
		opt := strings.HasSuffix(w, "?")
		w = strings.TrimSuffix(w, "?")
		if opt {
			if i < len(got) && got[i] == w {
				i++
			}
			continue
		}
		if i >= len(got) || got[i] != w {
			return false
		}
		i++
	}
	return i == len(got)
}

type placedOrder struct {
	OrderID, CorrelationID string
	c                      sagaCase
}

type orderState struct {
	Status             string `json:"status"`
	CancellationReason string `json:"cancellationReason"`
	TotalMinor         int64  `json:"totalMinor"`
	Currency           string `json:"currency"`
}

func orderBodyFor(c sagaCase, user string) string {
	return fmt.Sprintf(`{"userId": %q, "items": [{"productId": %q, "quantity": 2}, {"productId": "p-6", "quantity": 1}],
		"currency": "USD", "paymentMethod": %q,
		"shippingAddress": {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "country": %q}}`, user, c.product, c.method, c.country)
}

func place(t *testing.T, base string, c sagaCase, user string) placedOrder {
	t.Helper()
	var res struct{ OrderID, CorrelationID string }
	if code := call(t, "POST", base+"/v1/orders", orderBodyFor(c, user), nil, &res); code != http.StatusAccepted {
		t.Fatalf("%s: place: status %d", c.name, code)
	}
	return placedOrder{OrderID: res.OrderID, CorrelationID: res.CorrelationID, c: c}
}

// placeAndCancel places orders until one is cancelled by the customer
// while paid or reserved (the saga may outrun the test and ship first).
func placeAndCancel(t *testing.T, base string, c sagaCase, user string) placedOrder {
	t.Helper()
	for try := 0; try < 50; try++ {
		o := place(t, base, c, user)
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			var st orderState
			call(t, "GET", base+"/v1/orders/"+o.OrderID, "", nil, &st)
			if st.Status == "paid" || st.Status == "reserved" {
				code := call(t, "POST", base+"/v1/orders/"+o.OrderID+"/cancel", "", nil, nil)
				if code == http.StatusAccepted {
					return o
				}
				break
			}
			if st.Status == "shipped" || st.Status == "cancelled" {
				break
			}
			time.Sleep(time.Millisecond)
		}
		// Shipped before the cancel: a normal successful order.
		o.c = sagaCases[0]
		extraOrders = append(extraOrders, o)
	}
	t.Fatal("could not cancel an order while paid or reserved in 50 tries")
	return placedOrder{}
}

// extraOrders are orders placeAndCancel could not cancel in time; they
// are checked as successful orders.
var extraOrders []placedOrder

// services opens the services' SQLite files for reading.
type services struct{ order, payment, inventory, shipping *sqldb.DB }

func openServices(t *testing.T, dir string) services {
	t.Helper()
	open := func(name string) *sqldb.DB { return openSQLite(t, filepath.Join(dir, name+".db")) }
	return services{open("order"), open("payment"), open("inventory"), open("shipping")}
}

// openSQLite opens the SQLite database at path for the rest of the test.
func openSQLite(t *testing.T, path string) *sqldb.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func count(t *testing.T, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func rowStatus(t *testing.T, db *sqldb.DB, table, orderID string) string {
	t.Helper()
	var s string
	_ = db.Read.QueryRow(`SELECT status FROM `+table+` WHERE order_id = $1`, orderID).Scan(&s)
	return s
}

// settledProblems lists how the orders differ from their cases' final
// state in mode (nil once every effect happened as expected).
func settledProblems(t *testing.T, mode, base string, svc services, orders []placedOrder) []string {
	t.Helper()
	var problems []string
	for _, o := range orders {
		c := o.c
		var st orderState
		call(t, "GET", base+"/v1/orders/"+o.OrderID, "", nil, &st)
		if st.Status != c.status || st.CancellationReason != c.reason {
			problems = append(problems, fmt.Sprintf("%s %s: status %s/%s, want %s/%s", c.name, o.OrderID, st.Status, st.CancellationReason, c.status, c.reason))
		}
		caps := count(t, svc.payment, `SELECT COUNT(*) FROM payment_ledger WHERE order_id = $1 AND kind = 'capture'`, o.OrderID)
		refs := count(t, svc.payment, `SELECT COUNT(*) FROM payment_ledger WHERE order_id = $1 AND kind = 'refund'`, o.OrderID)
		if caps != c.captures || refs != c.refunds {
			problems = append(problems, fmt.Sprintf("%s %s: %d captures, %d refunds, want %d, %d", c.name, o.OrderID, caps, refs, c.captures, c.refunds))
		}
		inv, ship := c.rows(mode)
		if s := rowStatus(t, svc.inventory, "inventory_orders", o.OrderID); !contains(inv, s) {
			problems = append(problems, fmt.Sprintf("%s %s: inventory %q, want one of %v", c.name, o.OrderID, s, inv))
		}
		if s := rowStatus(t, svc.shipping, "shipping_orders", o.OrderID); !contains(ship, s) {
			problems = append(problems, fmt.Sprintf("%s %s: shipping %q, want one of %v", c.name, o.OrderID, s, ship))
		}
		var evs struct{ Events []struct{ EventType string } }
		call(t, "GET", base+"/v1/orders/"+o.OrderID+"/events", "", nil, &evs)
		types := make([]string, len(evs.Events))
		for i, e := range evs.Events {
			types[i] = e.EventType
		}
		if !eventsMatch(types, c.events) {
			problems = append(problems, fmt.Sprintf("%s %s: order events %v, want %v", c.name, o.OrderID, types, c.events))
		}
		if mode == SagaOrchestration {
			want := map[string]string{"shipped": "completed", "cancelled": "compensated"}[c.status]
			var s string
			_ = svc.order.Read.QueryRow(`SELECT status FROM saga_instances WHERE id = $1`, o.OrderID).Scan(&s)
			if s != want {
				problems = append(problems, fmt.Sprintf("%s %s: saga %q, want %q", c.name, o.OrderID, s, want))
			}
		}
	}
	return problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func waitSettled(t *testing.T, mode, base string, svc services, orders []placedOrder) {
	t.Helper()
	var problems []string
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if problems = settledProblems(t, mode, base, svc, orders); len(problems) == 0 {
			return
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	t.FailNow()
}

// checkConservation checks stock and money: per product available +
// reserved = initial and reserved = the quantities of reservations still
// held; captured − refunded = the totals of shipped orders.
func checkConservation(t *testing.T, base string, svc services, orders []placedOrder) {
	t.Helper()
	cat := catalog.Default()
	held := map[string]int64{}
	rows, err := svc.inventory.Read.Query(`SELECT items FROM inventory_orders WHERE status = 'reserved'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var items string
		if err := rows.Scan(&items); err != nil {
			t.Fatal(err)
		}
		var lines []schema.Line
		if err := json.Unmarshal([]byte(items), &lines); err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			held[l.ProductID] += int64(l.Quantity)
		}
	}
	rows.Close()
	for _, p := range cat.Products() {
		var initial, avail, reserved int64
		if err := svc.inventory.Read.QueryRow(`SELECT initial, available, reserved FROM inventory_stock WHERE product_id = $1`, p.ID).
			Scan(&initial, &avail, &reserved); err != nil {
			t.Fatalf("stock of %s: %v", p.ID, err)
		}
		if initial != p.Stock || avail+reserved != initial || reserved != held[p.ID] || avail < 0 {
			t.Errorf("%s: initial %d (catalog %d), available %d + reserved %d, held by reservations %d", p.ID, initial, p.Stock, avail, reserved, held[p.ID])
		}
	}
	var products struct {
		Products []struct {
			ID          string
			Stock       int64
			StockSource string
		}
	}
	call(t, "GET", base+"/v1/products", "", nil, &products)
	for _, p := range products.Products {
		if p.StockSource != "inventory" {
			t.Errorf("GET /v1/products %s: source %q, want inventory", p.ID, p.StockSource)
		}
		var avail int64
		_ = svc.inventory.Read.QueryRow(`SELECT available FROM inventory_stock WHERE product_id = $1`, p.ID).Scan(&avail)
		if p.Stock != avail {
			t.Errorf("GET /v1/products %s: stock %d, inventory has %d available", p.ID, p.Stock, avail)
		}
	}
	var captured, refunded, revenue int64
	if err := svc.payment.Read.QueryRow(`SELECT COALESCE(SUM(CASE WHEN kind = 'capture' THEN amount_minor END), 0),
		COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount_minor END), 0) FROM payment_ledger`).Scan(&captured, &refunded); err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		var st orderState
		call(t, "GET", base+"/v1/orders/"+o.OrderID, "", nil, &st)
		if st.Status == "shipped" {
			revenue += st.TotalMinor
		}
	}
	if captured-refunded != revenue {
		t.Errorf("money: captured %d − refunded %d = %d, shipped revenue %d", captured, refunded, captured-refunded, revenue)
	}
}

// checkTopics reads the service topics: no event twice for one order, and
// every event in the order's flow (correlationId) with a cause.
func checkTopics(t *testing.T, brokerAddr string, orders []placedOrder) {
	t.Helper()
	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	corr := map[string]string{}
	for _, o := range orders {
		corr[o.OrderID] = o.CorrelationID
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr),
		kgo.ConsumeTopics(kafka.TopicPayments, kafka.TopicInventory, kafka.TopicShipping),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm, err := kafka.NewAdmin(kafka.ClientConfig{Brokers: []string{brokerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := adm.ListEndOffsets(ctx, kafka.TopicPayments, kafka.TopicInventory, kafka.TopicShipping)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	ends.Each(func(o kadm.ListedOffset) { want += o.Offset })
	seen := map[string]int{}
	var got int64
	for got < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records: %v", got, want, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			env, err := codec.Decode(r.Value)
			if err != nil {
				t.Errorf("%s: %v", r.Topic, err)
				return
			}
			orderID := string(r.Key)
			seen[orderID+" "+env.EventType]++
			if c, ok := corr[orderID]; ok && (env.Metadata.CorrelationID != c || env.Metadata.CausationID == "") {
				t.Errorf("%s of %s: metadata %+v, want correlationId %s and a cause", env.EventType, orderID, env.Metadata, c)
			}
		})
	}
	t.Logf("%d events on the service topics", got)
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s: published %d times", k, n)
		}
	}
}

func TestChoreographyEndToEnd(t *testing.T) { testSagaEndToEnd(t, SagaChoreography) }

func TestOrchestrationEndToEnd(t *testing.T) { testSagaEndToEnd(t, SagaOrchestration) }

// testSagaEndToEnd runs every saga path through `causeway up --saga mode`
// and checks the same outcomes in both modes.
func testSagaEndToEnd(t *testing.T, mode string) {
	if testing.Short() {
		t.Skip("end-to-end (skipped under -short)")
	}
	extraOrders = nil
	dir := t.TempDir()
	up := startUp(t, dir, "--saga", mode)
	if up.rt.Saga != mode {
		t.Fatalf("runtime saga %q, want %q", up.rt.Saga, mode)
	}
	base := "http://" + up.rt.HTTPAddr
	var orders []placedOrder
	for i, c := range sagaCases {
		user := fmt.Sprintf("u-%d", i)
		if c.cancel {
			orders = append(orders, placeAndCancel(t, base, c, user))
			continue
		}
		orders = append(orders, place(t, base, c, user))
	}
	orders = append(orders, extraOrders...)
	svc := openServices(t, dir)
	waitSettled(t, mode, base, svc, orders)
	t.Logf("%s: %d orders settled (%d shipped before the customer could cancel)", mode, len(orders), len(extraOrders))
	checkConservation(t, base, svc, orders)
	checkTopics(t, up.rt.KafkaAddr, orders)
	checkMailAndAnalytics(t, base, svc, orders)
}

// Sagas in flight when `up --saga=orchestration` stops continue after the
// restart on the same data directory: their state, deadlines and unsent
// commands are in order.db, their replies in the consumer groups.
func TestOrchestrationResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end (skipped under -short)")
	}
	extraOrders = nil
	dir := t.TempDir()
	first := startUp(t, dir, "--saga", SagaOrchestration)
	base := "http://" + first.rt.HTTPAddr
	var orders []placedOrder
	for round := 0; round < 3; round++ {
		for i, c := range sagaCases {
			if !c.cancel {
				orders = append(orders, place(t, base, c, fmt.Sprintf("u-%d-%d", round, i)))
			}
		}
	}
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}
	svc := openServices(t, dir)
	var running int
	_ = svc.order.Read.QueryRow(`SELECT COUNT(*) FROM saga_instances WHERE status IN ('running', 'compensating')`).Scan(&running)
	t.Logf("%d of %d sagas in flight at the stop", running, len(orders))

	second := startUp(t, dir, "--saga", SagaOrchestration)
	base = "http://" + second.rt.HTTPAddr
	waitSettled(t, SagaOrchestration, base, svc, orders)
	checkConservation(t, base, svc, orders)
	checkTopics(t, second.rt.KafkaAddr, orders)
}
