package ordersvc_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// handle runs the saga handler on env in a transaction of its own, as
// the consumer runner would, and fails the test on an error.
func handle(t *testing.T, svc *ordersvc.Service, db *sqldb.DB, env event.Envelope) {
	t.Helper()
	h := svc.SagaHandler()
	if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		return h.Handle(context.Background(), tx, &consumer.Message{Envelope: env, Attempt: 1})
	}); err != nil {
		t.Fatalf("handle %s: %v", env.EventType, err)
	}
}

func earlyCount(t *testing.T, svc *ordersvc.Service) int {
	t.Helper()
	n, _, err := svc.EarlyStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// eventTypes returns the types of the order's stored events, in order.
func eventTypes(t *testing.T, svc *ordersvc.Service, id string) []string {
	t.Helper()
	recs, err := svc.Store().Load(context.Background(), order.StreamID(id), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Event.EventType)
	}
	return out
}

// TestSagaEventsOutOfOrderAreResequenced delivers an order's saga events
// in the worst order (shipment, then reservation, then payment, each
// twice): none fails, and the order's stream holds them in saga order,
// each once, with their own causation.
func TestSagaEventsOutOfOrderAreResequenced(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, db := newService(t, open)
		placed, err := svc.Place(context.Background(), request("u-early"), "")
		if err != nil {
			t.Fatal(err)
		}
		id := placed.OrderID
		md := event.Metadata{CorrelationID: placed.CorrelationID, CausationID: "x", Source: "test"}
		env := func(data any) event.Envelope {
			e, err := schema.New(data, md)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		shipped := env(schema.ShipmentCreated{OrderID: id, Carrier: "DHL", TrackingNumber: "T-1"})
		reserved := env(schema.StockReserved{OrderID: id, ReservationID: "r-1"})
		paid := env(schema.PaymentSucceeded{OrderID: id, PaymentID: "pay-1"})

		handle(t, svc, db, shipped)
		handle(t, svc, db, shipped) // a duplicate delivery of an early event
		handle(t, svc, db, reserved)
		if got := earlyCount(t, svc); got != 2 {
			t.Fatalf("early events kept = %d, want 2", got)
		}
		if got := eventTypes(t, svc, id); len(got) != 1 {
			t.Fatalf("events before the payment = %v, want only order.placed", got)
		}
		handle(t, svc, db, paid)
		handle(t, svc, db, reserved) // a late duplicate: a no-op now

		got := eventTypes(t, svc, id)
		want := []string{order.TypePlaced, order.TypePaid, order.TypeReserved, order.TypeShipped}
		if len(got) != len(want) {
			t.Fatalf("events = %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("events = %v, want %v", got, want)
			}
		}
		if n := earlyCount(t, svc); n != 0 {
			t.Errorf("early events left = %d, want 0", n)
		}
		recs, err := svc.Store().Load(context.Background(), order.StreamID(id), 0)
		if err != nil {
			t.Fatal(err)
		}
		causes := map[string]string{order.TypePaid: paid.EventID, order.TypeReserved: reserved.EventID, order.TypeShipped: shipped.EventID}
		for _, r := range recs[1:] {
			if got, want := r.Event.Metadata.CausationID, causes[r.Event.EventType]; got != want {
				t.Errorf("%s caused by %s, want %s", r.Event.EventType, got, want)
			}
			if r.Event.Metadata.CorrelationID != placed.CorrelationID {
				t.Errorf("%s correlation %s, want %s", r.Event.EventType, r.Event.Metadata.CorrelationID, placed.CorrelationID)
			}
		}
	})
}

// TestReleaseEarlyAppliesWhatARaceLeft stands in for two PostgreSQL
// instances racing: an early event is kept after its predecessor was
// handled elsewhere (so nothing released it). The sweeper applies it; a
// kept event of an order that ended meanwhile is dropped as stale.
func TestReleaseEarlyAppliesWhatARaceLeft(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, db := newService(t, open)
		ctx := context.Background()
		a, err := svc.Place(ctx, request("u-a"), "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := svc.Place(ctx, request("u-b"), "")
		if err != nil {
			t.Fatal(err)
		}
		md := event.Metadata{CorrelationID: a.CorrelationID, CausationID: "x", Source: "test"}
		reservedA, err := schema.New(schema.StockReserved{OrderID: a.OrderID, ReservationID: "r-a"}, md)
		if err != nil {
			t.Fatal(err)
		}
		reservedB, err := schema.New(schema.StockReserved{OrderID: b.OrderID, ReservationID: "r-b"}, md)
		if err != nil {
			t.Fatal(err)
		}
		handle(t, svc, db, reservedA) // kept: a is only placed
		handle(t, svc, db, reservedB) // kept: b is only placed
		// Meanwhile, without the handler (another instance): a is paid,
		// b is cancelled by its customer.
		update(t, svc, a.OrderID, markPaid)
		if _, err := svc.Cancel(ctx, b.OrderID); err != nil {
			t.Fatal(err)
		}
		if n := earlyCount(t, svc); n != 2 {
			t.Fatalf("early events = %d, want 2", n)
		}
		n, err := svc.ReleaseEarly(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("released %d, want 2 (one applied, one stale)", n)
		}
		if n := earlyCount(t, svc); n != 0 {
			t.Errorf("early events left = %d, want 0", n)
		}
		oa, err := svc.Repository().Load(ctx, a.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if oa.Status != order.StatusReserved {
			t.Errorf("order a is %s, want reserved", oa.Status)
		}
		ob, err := svc.Repository().Load(ctx, b.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if ob.Status != order.StatusCancelled {
			t.Errorf("order b is %s, want cancelled", ob.Status)
		}
	})
}

// TestSagaEventForUnknownOrderIsPermanent: a saga event for an order the
// service never placed can never apply (orders are created here before
// any service hears of them): the handler fails it as permanent — the
// runner dead-letters it at once instead of retrying — and keeps nothing.
func TestSagaEventForUnknownOrderIsPermanent(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, db := newService(t, open)
		for _, data := range []any{
			schema.PaymentSucceeded{OrderID: "o-ghost", PaymentID: "pay-ghost"},
			schema.StockReserved{OrderID: "o-ghost", ReservationID: "r-ghost"},
			schema.ShipmentCreated{OrderID: "o-ghost", Carrier: "DHL", TrackingNumber: "T-1"},
		} {
			env, err := schema.New(data, event.StartFlow(schema.SourcePayment))
			if err != nil {
				t.Fatal(err)
			}
			err = db.InTx(context.Background(), func(tx *sqldb.Tx) error {
				return svc.SagaHandler().Handle(context.Background(), tx, &consumer.Message{Envelope: env, Attempt: 1})
			})
			if !consumer.IsPermanent(err) || !errors.Is(err, order.ErrNotFound) || !strings.Contains(err.Error(), "never placed") {
				t.Errorf("%s for an unknown order: %v, want a permanent order.ErrNotFound", env.EventType, err)
			}
		}
		if n := earlyCount(t, svc); n != 0 {
			t.Errorf("%d early events kept for an unknown order, want 0", n)
		}
	})
}

// TestEarlyEventReleasedInItsBatch: an early event and the step it
// follows in one transaction (one consumer batch): the step applies the
// early event before the commit, with no sweeper.
func TestEarlyEventReleasedInItsBatch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		svc, db := newService(t, open)
		placed, err := svc.Place(ctx, request("u-batch"), "")
		if err != nil {
			t.Fatal(err)
		}
		id := placed.OrderID
		md := event.Metadata{CorrelationID: placed.CorrelationID, CausationID: "x", Source: "test"}
		reserved, err := schema.New(schema.StockReserved{OrderID: id, ReservationID: "r-1"}, md)
		if err != nil {
			t.Fatal(err)
		}
		paid, err := schema.New(schema.PaymentSucceeded{OrderID: id, PaymentID: "pay-1"}, md)
		if err != nil {
			t.Fatal(err)
		}
		h := svc.SagaHandler()
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for _, env := range []event.Envelope{reserved, paid} {
				if err := h.Handle(ctx, tx, &consumer.Message{Envelope: env, Attempt: 1}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		want := []string{order.TypePlaced, order.TypePaid, order.TypeReserved}
		if got := eventTypes(t, svc, id); !slices.Equal(got, want) {
			t.Errorf("stream holds %v, want %v", got, want)
		}
		if n := earlyCount(t, svc); n != 0 {
			t.Errorf("%d early events left for the sweeper, want 0", n)
		}
	})
}
