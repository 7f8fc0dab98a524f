package readmodel_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

type fixture struct {
	t   *testing.T
	svc *readmodel.Service
	db  *sqldb.DB
	cl  *kgo.Client

	mu  sync.Mutex
	ids map[int64]string // "event store position" → event id, for the resolver
	pos int64
}

type opener = func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB

// newFixture runs the read service on a database from open (SQLite or a
// fresh PostgreSQL schema) against an embedded broker.
func newFixture(t *testing.T, open opener) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var specs []kafka.TopicSpec
	for _, tp := range []string{"orders", "payments", "inventory", "shipping"} {
		specs = append(specs, kafka.TopicSpec{Name: tp, Partitions: 2, ReplicationFactor: -1})
	}
	b, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(specs...))
	if err != nil {
		t.Fatal(err)
	}
	db := open(t)
	if err := readmodel.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, db: db, ids: map[int64]string{}}
	svc, err := readmodel.New(ctx, db, codec,
		readmodel.WithRunnerOptions(projection.WithKafkaOpts(kgo.SeedBrokers(b.Addr()))),
		readmodel.WithConsistencyWait(5*time.Second),
		readmodel.WithResolver(func(_ context.Context, pos int64) (string, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			id, ok := f.ids[pos]
			if !ok {
				return "", fmt.Errorf("%w: %d", readmodel.ErrBadToken, pos)
			}
			return id, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	if f.cl, err = kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic("orders")); err != nil {
		t.Fatal(err)
	}
	svc.Start(ctx)
	t.Cleanup(func() {
		cancel()
		svc.Wait()
		f.cl.Close()
		b.Close()
	})
	return f
}

// produce publishes env on topic and returns its token (a fake event store
// position the resolver maps to the event id).
func (f *fixture) produce(topic, key string, env event.Envelope) string {
	f.t.Helper()
	val, err := env.MarshalJSON()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.cl.ProduceSync(context.Background(), &kgo.Record{Topic: topic, Key: []byte(key), Value: val}).FirstErr(); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pos++
	f.ids[f.pos] = env.EventID
	return fmt.Sprint(f.pos)
}

func (f *fixture) orderEvent(user string, e order.Event) string {
	f.t.Helper()
	env, err := order.ToEnvelope(e, event.StartFlow(schema.SourceOrder))
	if err != nil {
		f.t.Fatal(err)
	}
	return f.produce("orders", user, env)
}

func (f *fixture) other(topic, orderID, typ string, at time.Time, data any) string {
	f.t.Helper()
	// From the topic's producer: the read side checks the bus contract.
	env, err := event.New(typ, 1, data, event.StartFlow(schema.Contracts()[topic].Sources[0]))
	if err != nil {
		f.t.Fatal(err)
	}
	env.Timestamp = at
	return f.produce(topic, orderID, env)
}

// fresh waits for token on projection name and fails if stale.
func (f *fixture) fresh(name, token string) {
	f.t.Helper()
	stale, err := f.svc.Consistent(context.Background(), name, token)
	if err != nil || stale {
		f.t.Fatalf("Consistent(%s, %s) = stale %v, %v", name, token, stale, err)
	}
}

func placed(id, user string, at time.Time) order.Placed {
	return order.Placed{OrderID: id, UserID: user, Currency: "USD", TotalMinor: 2*1000 + 250, PaymentMethod: "card_ok",
		Items:           []order.Item{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1000}, {ProductID: "p-2", Quantity: 1, UnitPriceMinor: 250}},
		ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"}, PlacedAt: at}
}

func TestOrderViewAndSagaProgress(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		f := newFixture(t, open)
		t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		// Saga events on other topics may be applied before order.placed.
		f.other("shipping", "o-1", schema.TypeShipmentCreated, t0.Add(3*time.Second), schema.ShipmentCreated{OrderID: "o-1", UserID: "u-1", ShipmentID: "s-1",
			Carrier: "ACME", TrackingNumber: "TRK-1", Country: "US", CreatedAt: t0.Add(3 * time.Second)})
		f.orderEvent("u-1", placed("o-1", "u-1", t0))
		f.other("payments", "o-1", schema.TypePaymentSucceeded, t0.Add(time.Second), schema.PaymentSucceeded{OrderID: "o-1", UserID: "u-1", PaymentID: "pay-1",
			AmountMinor: 2250, Currency: "USD", Method: "card_ok", SucceededAt: t0.Add(time.Second)})
		f.orderEvent("u-1", order.Paid{OrderID: "o-1", PaymentID: "pay-1", PaidAt: t0.Add(time.Second)})
		f.other("inventory", "o-1", schema.TypeStockReserved, t0.Add(2*time.Second), schema.StockReserved{OrderID: "o-1", UserID: "u-1", ReservationID: "r-1",
			Items: []schema.Line{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 1}}, ReservedAt: t0.Add(2 * time.Second)})
		f.orderEvent("u-1", order.Reserved{OrderID: "o-1", ReservationID: "r-1", ReservedAt: t0.Add(2 * time.Second)})
		last := f.orderEvent("u-1", order.Shipped{OrderID: "o-1", Carrier: "ACME", TrackingNumber: "TRK-1", ShippedAt: t0.Add(4 * time.Second)})

		f.orderEvent("u-1", placed("o-2", "u-1", t0.Add(time.Minute)))
		cancelTok := f.orderEvent("u-1", order.Cancelled{OrderID: "o-2", Reason: order.ReasonPaymentFailed, CancelledAt: t0.Add(time.Minute + time.Second)})

		f.fresh(readmodel.OrderViewName, last)
		f.fresh(readmodel.OrderViewName, cancelTok)
		// The shipping topic is read independently: wait for the whole view.
		deadline := time.Now().Add(10 * time.Second)
		var o readmodel.Order
		for {
			var err error
			o, err = f.svc.Order(context.Background(), "o-1")
			if err == nil && len(o.Timeline)+len(o.SagaEvents) == 7 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("order view not complete: %+v, %v", o, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if o.Status != "shipped" || o.UserID != "u-1" || o.TotalMinor != 2250 || o.Total != "22.50" || o.Currency != "USD" || len(o.Items) != 2 ||
			o.Items[0].LineTotalMinor != 2000 || o.Version != 4 {
			t.Errorf("order view = %+v", o)
		}
		if !o.Saga.Paid || !o.Saga.Reserved || !o.Saga.Shipped || o.Saga.Refunded || o.Saga.Steps != "paid,reserved,shipped" {
			t.Errorf("saga = %+v", o.Saga)
		}
		if o.Shipment == nil || o.Shipment.Carrier != "ACME" || o.Shipment.TrackingNumber != "TRK-1" {
			t.Errorf("shipment = %+v", o.Shipment)
		}
		if !o.UpdatedAt.Equal(t0.Add(4*time.Second)) || !o.PlacedAt.Equal(t0) {
			t.Errorf("placedAt %v updatedAt %v", o.PlacedAt, o.UpdatedAt)
		}
		check := func(name string, got []readmodel.TimelineEntry, want ...string) {
			if len(got) != len(want) {
				t.Fatalf("%s = %+v, want %v", name, got, want)
			}
			for i, e := range got {
				if e.EventType != want[i] {
					t.Errorf("%s[%d] = %s, want %s (%+v)", name, i, e.EventType, want[i], got)
				}
				if i > 0 && e.At.Before(got[i-1].At) {
					t.Errorf("%s out of order at %d", name, i)
				}
			}
		}
		check("timeline", o.Timeline, "order.placed", "order.paid", "order.reserved", "order.shipped")
		check("sagaEvents", o.SagaEvents, "payment.succeeded", "stock.reserved", "shipment.created")
		o2, err := f.svc.Order(context.Background(), "o-2")
		if err != nil || o2.Status != "cancelled" || o2.CancellationReason != "payment_failed" {
			t.Errorf("o-2 = %+v, %v", o2, err)
		}
		if _, err := f.svc.Order(context.Background(), "o-404"); !errors.Is(err, readmodel.ErrNotFound) {
			t.Errorf("unknown order: %v", err)
		}

		// Product sales count shipped orders only.
		f.fresh(readmodel.ProductSalesName, last)
		f.fresh(readmodel.ProductSalesName, cancelTok)
		sales, err := f.svc.ProductSales(context.Background())
		if err != nil || len(sales) != 2 || sales[0].ProductID != "p-1" || sales[0].Units != 2 || sales[0].RevenueMinor != 2000 ||
			sales[1].Units != 1 || sales[1].Orders != 1 {
			t.Errorf("sales = %+v, %v", sales, err)
		}
		deadline = time.Now().Add(10 * time.Second)
		for {
			st, err := f.svc.ReservedStock(context.Background())
			if err == nil && st["p-1"] == 2 && st["p-2"] == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stock = %v, %v", st, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestUserOrdersPaginationAndTokens(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		f := newFixture(t, open)
		t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
		const n = 45
		var tok string
		for i := range n {
			// Two orders share each placedAt: the orderId breaks the tie.
			tok = f.orderEvent("u-2", placed(fmt.Sprintf("o-%03d", i), "u-2", t0.Add(time.Duration(i/2)*time.Second)))
		}
		f.orderEvent("u-3", placed("o-other", "u-3", t0))
		f.fresh(readmodel.UserOrdersName, tok)

		var got []string
		cur := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			p, err := f.svc.UserOrders(context.Background(), "u-2", cur, readmodel.DefaultLimit)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range p.Orders {
				got = append(got, o.OrderID)
			}
			if p.NextCursor == "" {
				break
			}
			cur = p.NextCursor
		}
		if len(got) != n {
			t.Fatalf("got %d orders, want %d: %v", len(got), n, got)
		}
		for i, id := range got {
			if want := fmt.Sprintf("o-%03d", n-1-i); id != want {
				t.Fatalf("order %d = %s, want %s (newest first)", i, id, want)
			}
		}
		for _, bad := range []string{"zz", "!!", "djE6eDp5"} {
			if _, err := f.svc.UserOrders(context.Background(), "u-2", bad, 10); !errors.Is(err, readmodel.ErrBadCursor) {
				t.Errorf("cursor %q: %v", bad, err)
			}
		}
		for _, bad := range []string{"0", "101", "x", "-1"} {
			if _, err := readmodel.ParseLimit(bad); !errors.Is(err, readmodel.ErrBadCursor) {
				t.Errorf("limit %q: %v", bad, err)
			}
		}

		// Tokens: garbage is ErrBadToken; one the projection never sees is stale.
		for _, bad := range []string{"abc", "-3", "0", "1.5", "99999999999999999999"} {
			if _, err := f.svc.Consistent(context.Background(), readmodel.UserOrdersName, bad); !errors.Is(err, readmodel.ErrBadToken) {
				t.Errorf("token %q: %v", bad, err)
			}
		}
		f.mu.Lock()
		f.pos++
		f.ids[f.pos] = event.NewID() // written but never published
		never := fmt.Sprint(f.pos)
		f.mu.Unlock()
		stale, err := f.svc.Consistent(context.Background(), readmodel.UserOrdersName, never)
		if err != nil || !stale {
			t.Errorf("unpublished write: stale %v, %v; want stale", stale, err)
		}
	})
}

// TestUnknownVersionParksOnlyItsKey: an order event of an unknown version
// parks its key (the user) on the read service — the user's later events
// wait behind it — while another user on the same partition of orders
// goes on. Discarding the bad event applies the parked ones.
func TestUnknownVersionParksOnlyItsKey(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		f := newFixture(t, open)
		ctx := context.Background()
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		bad, err := order.ToEnvelope(placed("o-bad", "u-bad", at), event.StartFlow(schema.SourceOrder))
		if err != nil {
			t.Fatal(err)
		}
		bad.Version = 99
		val, _ := bad.MarshalJSON()
		res, err := f.cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Key: []byte("u-bad"), Value: val}).First()
		if err != nil {
			t.Fatal(err)
		}
		later := f.orderEvent("u-bad", placed("o-bad-2", "u-bad", at.Add(time.Minute)))
		// Another user on the same partition.
		var neighbour string
		for i := 0; neighbour == "" && i < 64; i++ {
			user := fmt.Sprintf("u-ok-%d", i)
			env, _ := order.ToEnvelope(placed("o-"+user, user, at.Add(2*time.Minute)), event.StartFlow(schema.SourceOrder))
			v, _ := env.MarshalJSON()
			r, err := f.cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Key: []byte(user), Value: v}).First()
			if err != nil {
				t.Fatal(err)
			}
			if r.Partition == res.Partition {
				neighbour = user
				f.mu.Lock()
				f.pos++
				f.ids[f.pos] = env.EventID
				tok := fmt.Sprint(f.pos)
				f.mu.Unlock()
				f.fresh(readmodel.OrderViewName, tok) // not blocked by u-bad
			}
		}
		if neighbour == "" {
			t.Fatal("no user landed on u-bad's partition")
		}
		if _, err := f.svc.Order(ctx, "o-"+neighbour); err != nil {
			t.Errorf("neighbour's order: %v", err)
		}
		// u-bad's later order is parked (its token never arrives).
		r, err := f.svc.Runner(readmodel.OrderViewName)
		if err != nil {
			t.Fatal(err)
		}
		var parked []projection.ParkedRecord
		for deadline := time.Now().Add(10 * time.Second); len(parked) < 2 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if parked, err = projection.Parked(ctx, f.db, readmodel.OrderViewName); err != nil {
				t.Fatal(err)
			}
		}
		if len(parked) != 2 || parked[0].EventID != bad.EventID || string(parked[1].Key) != "u-bad" {
			t.Fatalf("parked = %+v, want the v99 event and u-bad's next", parked)
		}
		if _, err := f.svc.Order(ctx, "o-bad-2"); !errors.Is(err, readmodel.ErrNotFound) {
			t.Errorf("u-bad's later order: %v, want not found while parked", err)
		}
		if n, err := r.ReplayParked(ctx, "orders", []byte("u-bad")); err == nil || n != 0 {
			t.Errorf("replay of a still-unknown version = %d, %v; want an error", n, err)
		}
		if n, err := r.DiscardParked(ctx, "orders", []byte("u-bad")); err != nil || n != 2 {
			t.Fatalf("discard = %d, %v", n, err)
		}
		f.fresh(readmodel.OrderViewName, later)
		if o, err := f.svc.Order(ctx, "o-bad-2"); err != nil || o.Status != "placed" {
			t.Errorf("after discard: %+v, %v", o, err)
		}
	})
}
