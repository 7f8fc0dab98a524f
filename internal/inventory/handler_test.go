package inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

var at = time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)

func placedEnv(t *testing.T, orderID string, items ...order.Item) event.Envelope {
	t.Helper()
	env, err := order.ToEnvelope(order.Placed{OrderID: orderID, UserID: "u-1", Items: items, TotalMinor: 1, Currency: "USD",
		PaymentMethod: "card_ok", ShippingAddress: order.Address{Name: "A", Line1: "1", City: "C", Country: "US"}, PlacedAt: at},
		event.Metadata{CorrelationID: "c-" + orderID, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func schemaEnv(t *testing.T, data any, corr string) event.Envelope {
	t.Helper()
	env, err := schema.New(data, event.Metadata{CorrelationID: corr, CausationID: "x", Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// TestHandlerReservesAtomicallyAndReleasesOnce drives the handler as the
// consumer runtime would (one transaction per event), in the awkward
// orders: payment before order.placed, and duplicates of the undo events.
func TestHandlerReservesAtomicallyAndReleasesOnce(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t)
		cat, err := catalog.New([]catalog.Product{
			{ID: "a", Name: "A", Prices: map[string]int64{"USD": 100}, Stock: 5},
			{ID: "b", Name: "B", Prices: map[string]int64{"USD": 100}, Stock: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := inventory.Migrate(ctx, db, cat); err != nil {
			t.Fatal(err)
		}
		codec, err := schema.NewCodec()
		if err != nil {
			t.Fatal(err)
		}
		h := inventory.NewHandler(codec, func() time.Time { return at })
		handle := func(env event.Envelope) {
			t.Helper()
			if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
				return h.Handle(ctx, tx, &consumer.Message{Envelope: env, Attempt: 1})
			}); err != nil {
				t.Fatalf("%s: %v", env.EventType, err)
			}
		}
		paid := func(id string) event.Envelope {
			return schemaEnv(t, schema.PaymentSucceeded{OrderID: id, UserID: "u-1", PaymentID: "pay-" + id}, "c-"+id)
		}
		// o-1: paid first, items later → reserved when the items arrive.
		handle(paid("o-1"))
		handle(placedEnv(t, "o-1", order.Item{ProductID: "a", Quantity: 2}, order.Item{ProductID: "b", Quantity: 1}))
		// o-2: b is gone → nothing reserved, not even a.
		handle(placedEnv(t, "o-2", order.Item{ProductID: "a", Quantity: 1}, order.Item{ProductID: "b", Quantity: 1}))
		handle(paid("o-2"))
		// o-1 shipment fails, twice (a redelivery with a new id), then the order is cancelled.
		handle(schemaEnv(t, schema.ShipmentFailed{OrderID: "o-1"}, "c-o-1"))
		handle(schemaEnv(t, schema.ShipmentFailed{OrderID: "o-1"}, "c-o-1"))
		cancelled, err := order.ToEnvelope(order.Cancelled{OrderID: "o-1", Reason: order.ReasonShippingFailed, CancelledAt: at}, event.Metadata{CorrelationID: "c-o-1"})
		if err != nil {
			t.Fatal(err)
		}
		handle(cancelled)

		levels, err := inventory.Levels(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]inventory.Level{"a": {Initial: 5, Available: 5}, "b": {Initial: 1, Available: 1}}
		for id, l := range want {
			if levels[id] != l {
				t.Errorf("%s: got %+v, want %+v", id, levels[id], l)
			}
		}
		st, err := inventory.Statuses(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if st[inventory.StatusReleased] != 1 || st[inventory.StatusFailed] != 1 {
			t.Errorf("statuses %v, want one released, one failed", st)
		}
		var types []string
		rows, err := db.Read.Query(`SELECT value FROM outbox ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			env, err := codec.Decode(v)
			if err != nil {
				t.Fatal(err)
			}
			types = append(types, env.EventType)
		}
		wantTypes := []string{schema.TypeStockReserved, schema.TypeStockReservationFailed, schema.TypeStockReleased}
		if len(types) != len(wantTypes) {
			t.Fatalf("outbox %v, want %v", types, wantTypes)
		}
		for i := range types {
			if types[i] != wantTypes[i] {
				t.Errorf("outbox %v, want %v", types, wantTypes)
			}
		}
	})
}
