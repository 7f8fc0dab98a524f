package analytics_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

var at = time.Date(2026, 11, 25, 15, 30, 20, 0, time.UTC)

func TestAdvance(t *testing.T) {
	tests := []struct {
		cur, next analytics.Status
		want      bool
	}{
		{analytics.StatusNone, analytics.StatusPlaced, true},
		{analytics.StatusPlaced, analytics.StatusPaid, true},
		{analytics.StatusPaid, analytics.StatusReserved, true},
		{analytics.StatusReserved, analytics.StatusShipped, true},
		{analytics.StatusPlaced, analytics.StatusCancelled, true},
		{analytics.StatusReserved, analytics.StatusCancelled, true},
		{analytics.StatusNone, analytics.StatusShipped, true},
		{analytics.StatusPaid, analytics.StatusPaid, false},
		{analytics.StatusReserved, analytics.StatusPaid, false},
		{analytics.StatusCancelled, analytics.StatusPaid, false},
		{analytics.StatusCancelled, analytics.StatusShipped, false},
		{analytics.StatusShipped, analytics.StatusCancelled, false},
		{analytics.StatusPlaced, analytics.Status("lost"), false},
	}
	for _, tt := range tests {
		if got := analytics.Advance(tt.cur, tt.next); got != tt.want {
			t.Errorf("Advance(%q, %q): got %v, want %v", tt.cur, tt.next, got, tt.want)
		}
	}
}

func TestSales(t *testing.T) {
	got := analytics.Sales([]analytics.Line{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 100}, {ProductID: "p-2", Quantity: 1, UnitPriceMinor: 50},
		{ProductID: "p-1", Quantity: 1, UnitPriceMinor: 100}}, "USD")
	want := []analytics.ProductSales{{ProductID: "p-1", Currency: "USD", Units: 3, RevenueMinor: 300}, {ProductID: "p-2", Currency: "USD", Units: 1, RevenueMinor: 50}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func orderEnv(t *testing.T, e order.Event) event.Envelope {
	t.Helper()
	env, err := order.ToEnvelope(e, event.Metadata{CorrelationID: "c", CausationID: "x", Source: "order-service"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func schemaEnv(t *testing.T, data any) event.Envelope {
	t.Helper()
	env, err := schema.New(data, event.Metadata{CorrelationID: "c", CausationID: "x", Source: "payment-service"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func placed(id, cur string, items ...order.Item) order.Placed {
	var total int64
	for _, it := range items {
		total += int64(it.Quantity) * it.UnitPriceMinor
	}
	return order.Placed{OrderID: id, UserID: "u-" + id, Items: items, TotalMinor: total, Currency: cur, PaymentMethod: "card_ok",
		ShippingAddress: order.Address{Name: "A", Line1: "1", City: "C", Country: "US"}, PlacedAt: at}
}

// TestHandlerAggregates drives every path through the handler as the
// consumer runtime runs it (a transaction per event, Dedup by eventId),
// with redeliveries, repeats under a new eventId and stale events.
// TestHandlerAggregates runs a mix of orders through the handler, one
// transaction per event and then all of them in one transaction (as a
// consumer batch: the aggregates' writes are deferred to its commit), with
// a rolled-back savepoint of an extra order in it, and checks the summary.
func TestHandlerAggregates(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB) {
		for _, batched := range []bool{false, true} {
			t.Run(fmt.Sprintf("batched=%v", batched), func(t *testing.T) { testHandlerAggregates(t, open, batched) })
		}
	})
}

var errRolledBack = errors.New("test: rolled back")

func testHandlerAggregates(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB, batched bool) {
	{
		ctx := context.Background()
		db := open(t)
		if err := analytics.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		h := consumer.Chain(analytics.NewHandler(nil), consumer.Dedup(analytics.Group))
		var batch *sqldb.Tx
		handle := func(env event.Envelope) {
			t.Helper()
			if batch != nil {
				if err := h.Handle(ctx, batch, &consumer.Message{Envelope: env, Attempt: 1}); err != nil {
					t.Fatalf("%s: %v", env.EventType, err)
				}
				return
			}
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				return h.Handle(ctx, tx, &consumer.Message{Envelope: env, Attempt: 1})
			}); err != nil {
				t.Fatalf("%s: %v", env.EventType, err)
			}
		}
		p1, p2 := order.Item{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1000}, order.Item{ProductID: "p-2", Quantity: 1, UnitPriceMinor: 500}
		old := at.Add(-2 * time.Hour)
		shipped1 := orderEnv(t, order.Shipped{OrderID: "o-1", Carrier: "DHL", TrackingNumber: "T", ShippedAt: at})
		capture1 := schemaEnv(t, schema.PaymentSucceeded{OrderID: "o-1", AmountMinor: 2500, Currency: "USD", SucceededAt: at})
		events := []event.Envelope{
			// o-1: shipped, paid in USD now.
			orderEnv(t, placed("o-1", "USD", p1, p2)),
			capture1, capture1,
			orderEnv(t, order.Paid{OrderID: "o-1", PaidAt: at}),
			orderEnv(t, order.Reserved{OrderID: "o-1", ReservedAt: at}),
			shipped1, shipped1,
			orderEnv(t, order.Shipped{OrderID: "o-1", Carrier: "DHL", TrackingNumber: "T", ShippedAt: at}), // new eventId
			schemaEnv(t, schema.PaymentSucceeded{OrderID: "o-1", AmountMinor: 2500, Currency: "USD", SucceededAt: at}),
			// o-2: declined; a late paid changes nothing.
			orderEnv(t, placed("o-2", "USD", p1)),
			orderEnv(t, order.Cancelled{OrderID: "o-2", Reason: order.ReasonPaymentFailed, CancelledAt: at}),
			orderEnv(t, order.Paid{OrderID: "o-2", PaidAt: at}),
			// o-3: captured two hours ago, refunded now.
			orderEnv(t, placed("o-3", "USD", p2)),
			schemaEnv(t, schema.PaymentSucceeded{OrderID: "o-3", AmountMinor: 500, Currency: "USD", SucceededAt: old}),
			orderEnv(t, order.Paid{OrderID: "o-3", PaidAt: old}),
			schemaEnv(t, schema.PaymentRefunded{OrderID: "o-3", AmountMinor: 500, Currency: "USD", Cause: schema.CauseOutOfStock, RefundedAt: at}),
			schemaEnv(t, schema.PaymentRefunded{OrderID: "o-3", AmountMinor: 500, Currency: "USD", Cause: schema.CauseOutOfStock, RefundedAt: at}),
			orderEnv(t, order.Cancelled{OrderID: "o-3", Reason: order.ReasonOutOfStock, CancelledAt: at}),
			// o-4: EUR, shipped; its payment a minute later.
			orderEnv(t, placed("o-4", "EUR", order.Item{ProductID: "p-2", Quantity: 5, UnitPriceMinor: 450})),
			schemaEnv(t, schema.PaymentSucceeded{OrderID: "o-4", AmountMinor: 2250, Currency: "EUR", SucceededAt: at.Add(time.Minute)}),
			orderEnv(t, order.Paid{OrderID: "o-4", PaidAt: at}),
			orderEnv(t, order.Reserved{OrderID: "o-4", ReservedAt: at}),
			orderEnv(t, order.Shipped{OrderID: "o-4", ShippedAt: at}),
			// o-5: only paid so far; o-6 only placed.
			orderEnv(t, placed("o-5", "USD", p1)),
			orderEnv(t, order.Paid{OrderID: "o-5", PaidAt: at}),
			orderEnv(t, placed("o-6", "USD", p1)),
			// Events analytics ignores.
			schemaEnv(t, schema.StockReserved{OrderID: "o-1"}),
		}
		if !batched {
			for _, env := range events {
				handle(env)
			}
		} else if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			batch = tx
			for _, env := range events {
				handle(env)
			}
			// An order whose events are rolled back to a savepoint
			// leaves no count, revenue or sales behind.
			ferr, err := tx.Savepoint(ctx, "test_record", func() error {
				handle(orderEnv(t, placed("o-7", "USD", p1)))
				handle(schemaEnv(t, schema.PaymentSucceeded{OrderID: "o-7", AmountMinor: 2000, Currency: "USD", SucceededAt: at}))
				handle(orderEnv(t, order.Shipped{OrderID: "o-7", ShippedAt: at}))
				return errRolledBack
			})
			if !errors.Is(ferr, errRolledBack) {
				t.Errorf("savepoint: %v", ferr)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		now := at.Add(5 * time.Minute)
		got, err := analytics.NewReader(db, func() time.Time { return now }).Summary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		minute := at.Truncate(time.Minute)
		want := analytics.Summary{
			OrdersByStatus: map[analytics.Status]int64{"placed": 1, "paid": 1, "reserved": 0, "shipped": 2, "cancelled": 2},
			Revenue:        map[string]int64{"USD": 2500, "EUR": 2250},
			RevenueByMinute: []analytics.MinuteRevenue{ // o-3's capture is older than the window
				{Minute: minute, Currency: "USD", AmountMinor: 2500 - 500},
				{Minute: minute.Add(time.Minute), Currency: "EUR", AmountMinor: 2250},
			},
			TopProducts: []analytics.ProductSales{
				{ProductID: "p-2", Currency: "EUR", Units: 5, RevenueMinor: 2250},
				{ProductID: "p-1", Currency: "USD", Units: 2, RevenueMinor: 2000},
				{ProductID: "p-2", Currency: "USD", Units: 1, RevenueMinor: 500},
			},
			AsOf: now,
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("summary:\n got %+v\nwant %+v", got, want)
		}
	}
}

func TestSummaryEmpty(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t)
	if err := analytics.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	got, err := analytics.NewReader(db, nil).Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.OrdersByStatus) != len(analytics.Statuses) || got.Revenue == nil || got.RevenueByMinute == nil || got.TopProducts == nil {
		t.Errorf("empty summary must list every status and empty (not null) collections: %+v", got)
	}
}

func TestTopProductsCapped(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t)
	if err := analytics.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	h := analytics.NewHandler(nil)
	for i := range 12 {
		id := "o-" + string(rune('a'+i))
		var items []order.Item
		items = append(items, order.Item{ProductID: "p-" + string(rune('a'+i)), Quantity: i + 1, UnitPriceMinor: 100})
		for _, env := range []event.Envelope{orderEnv(t, placed(id, "USD", items...)), orderEnv(t, order.Shipped{OrderID: id, ShippedAt: at})} {
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return h.Handle(ctx, tx, &consumer.Message{Envelope: env}) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := analytics.NewReader(db, nil).Summary(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.TopProducts) != analytics.TopN || got.TopProducts[0].ProductID != "p-l" || got.TopProducts[0].Units != 12 ||
		got.TopProducts[9].ProductID != "p-c" {
		t.Errorf("top products: %+v", got.TopProducts)
	}
}
