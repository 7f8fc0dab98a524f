package email_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func orderEnv(t *testing.T, e order.Event, corr string) event.Envelope {
	t.Helper()
	env, err := order.ToEnvelope(e, event.Metadata{CorrelationID: corr, CausationID: "cause", Source: "order-service"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func placed(orderID, user string) order.Placed {
	return order.Placed{OrderID: orderID, UserID: user, Currency: "USD", TotalMinor: 2598, PaymentMethod: "card_ok",
		Items:           []order.Item{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1299}},
		ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"}, PlacedAt: at}
}

// fixture is an email database with a handler run as the consumer runtime
// runs it: one transaction per message, Dedup by eventId.
type fixture struct {
	db     *sqldb.DB
	box    *email.Mailbox
	handle func(env event.Envelope, key string)
	clock  *time.Time
}

func newFixture(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB, opts ...email.Opt) *fixture {
	t.Helper()
	ctx := context.Background()
	db := open(t)
	if err := email.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	clock := at
	f := &fixture{db: db, box: email.NewMailbox(db), clock: &clock}
	h, err := email.NewHandler(append([]email.Opt{email.WithClock(func() time.Time { return *f.clock })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	deduped := consumer.Chain(h, consumer.Dedup(email.Group))
	f.handle = func(env event.Envelope, key string) {
		t.Helper()
		*f.clock = f.clock.Add(time.Second)
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			return deduped.Handle(ctx, tx, &consumer.Message{Envelope: env, Key: key, Topic: "orders", Attempt: 1})
		}); err != nil {
			t.Fatalf("%s: %v", env.EventType, err)
		}
	}
	return f
}

// TestHandlerStoresEachMailOnce drives every path, with redeliveries (same
// eventId) and a second event of a kind (new eventId): one mail per order
// and kind.
func TestHandlerStoresEachMailOnce(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, open)
		p1 := orderEnv(t, placed("o-1", "u-1"), "c-1")
		s1 := orderEnv(t, order.Shipped{OrderID: "o-1", Carrier: "DHL", TrackingNumber: "CW1", ShippedAt: at}, "c-1")
		p2 := orderEnv(t, placed("o-2", "u-2"), "c-2")
		paid2 := orderEnv(t, order.Paid{OrderID: "o-2", PaidAt: at}, "c-2")
		c2 := orderEnv(t, order.Cancelled{OrderID: "o-2", Reason: order.ReasonOutOfStock, CancelledAt: at}, "c-2")
		c2again := orderEnv(t, order.Cancelled{OrderID: "o-2", Reason: order.ReasonOutOfStock, CancelledAt: at}, "c-2")
		for _, m := range []struct {
			env event.Envelope
			key string
		}{{p1, "u-1"}, {p1, "u-1"}, {p2, "u-2"}, {paid2, "u-2"}, {s1, "u-1"}, {c2, "u-2"}, {s1, "u-1"}, {c2again, "u-2"}, {p2, "u-2"}} {
			f.handle(m.env, m.key)
		}

		all, err := f.box.List(ctx, email.Query{})
		if err != nil {
			t.Fatal(err)
		}
		type key struct {
			order string
			kind  email.Kind
		}
		want := []key{{"o-2", email.KindCancelled}, {"o-1", email.KindShipped}, {"o-2", email.KindReceived}, {"o-1", email.KindReceived}}
		if len(all) != len(want) {
			t.Fatalf("got %d mails, want %d: %+v", len(all), len(want), all)
		}
		for i, m := range all {
			if (key{m.OrderID, m.Kind}) != want[i] {
				t.Errorf("mail %d (newest first): got %s %s, want %v", i, m.OrderID, m.Kind, want[i])
			}
			if m.ID != email.MessageID(m.OrderID, m.Kind) || m.To != email.Address(m.UserID) || m.SendStatus != email.SendNone {
				t.Errorf("mail %d: got %+v", i, m)
			}
		}
		cancelled := all[0]
		if cancelled.CorrelationID != "c-2" || cancelled.CausationID != c2.EventID || cancelled.UserID != "u-2" ||
			cancelled.Subject != "Your order o-2 was cancelled" || cancelled.HTMLBody == "" || cancelled.CreatedAt.IsZero() {
			t.Errorf("cancellation mail: got %+v", cancelled)
		}

		got, err := f.box.Get(ctx, cancelled.ID)
		if err != nil || got.TextBody != cancelled.TextBody {
			t.Errorf("Get: got %+v, %v", got, err)
		}
		if _, err := f.box.Get(ctx, "mail-nope"); !errors.Is(err, email.ErrNotFound) {
			t.Errorf("Get unknown: got %v, want ErrNotFound", err)
		}

		filters := []struct {
			q    email.Query
			want int
		}{
			{email.Query{UserID: "u-1"}, 2},
			{email.Query{OrderID: "o-2"}, 2},
			{email.Query{UserID: "u-1", OrderID: "o-2"}, 0},
			{email.Query{Limit: 1}, 1},
			{email.Query{UserID: "u-nobody"}, 0},
		}
		for _, tt := range filters {
			got, err := f.box.List(ctx, tt.q)
			if err != nil || len(got) != tt.want {
				t.Errorf("List(%+v): got %d, %v; want %d", tt.q, len(got), err, tt.want)
			}
		}
		for _, q := range []email.Query{{Limit: -1}, {Limit: email.MaxLimit + 1}} {
			if _, err := f.box.List(ctx, q); !errors.Is(err, email.ErrInvalidQuery) {
				t.Errorf("List(%+v): got %v, want ErrInvalidQuery", q, err)
			}
		}
	})
}

// TestHandlerOrderUnknown: a shipped order whose order.placed this service
// never saw still gets its mail, addressed by the record key (userId).
func TestHandlerOrderUnknown(t *testing.T) {
	f := newFixture(t, sqltest.SQLite)
	f.handle(orderEnv(t, order.Shipped{OrderID: "o-9", Carrier: "UPS", TrackingNumber: "CW9", ShippedAt: at}, "c-9"), "u-9")
	got, err := f.box.List(context.Background(), email.Query{OrderID: "o-9"})
	if err != nil || len(got) != 1 || got[0].To != "u-9@example.test" || got[0].Kind != email.KindShipped {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestHandlerRejectsBadEvent(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t)
	if err := email.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	h, err := email.NewHandler()
	if err != nil {
		t.Fatal(err)
	}
	env := orderEnv(t, order.Cancelled{OrderID: "o-1", Reason: order.ReasonOutOfStock, CancelledAt: at}, "c")
	env.Data = []byte(`{"orderId": 7}`)
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		return h.Handle(ctx, tx, &consumer.Message{Envelope: env, Attempt: 1})
	})
	if err == nil {
		t.Fatal("malformed order.cancelled: no error")
	}
	// Events that send no mail are ignored without decoding.
	other := event.Envelope{EventID: "x", EventType: "payment.succeeded", Data: []byte(`garbage`)}
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		return h.Handle(ctx, tx, &consumer.Message{Envelope: other, Attempt: 1})
	}); err != nil {
		t.Errorf("unrelated event: %v", err)
	}
}
