package httpapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// feed runs h over the order events as the consumer runtime would.
func feed(t *testing.T, db *sqldb.DB, h consumer.Handler, events ...order.Event) {
	t.Helper()
	ctx := context.Background()
	for _, e := range events {
		env, err := order.ToEnvelope(e, event.Metadata{CorrelationID: "c-1", Source: "order-service"})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return h.Handle(ctx, tx, &consumer.Message{Envelope: env, Attempt: 1}) }); err != nil {
			t.Fatal(err)
		}
	}
}

func placedEvent(id, user string) order.Placed {
	return order.Placed{OrderID: id, UserID: user, Currency: "USD", TotalMinor: 2000, PaymentMethod: "card_ok",
		Items:           []order.Item{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1000}},
		ShippingAddress: order.Address{Name: "Ada", Line1: "1", City: "C", Country: "US"}, PlacedAt: t0}
}

// TestMailboxAndAnalytics serves the routes over the real email and
// analytics stores, fed through their handlers.
func TestMailboxAndAnalytics(t *testing.T) {
	ctx := context.Background()
	edb, adb := sqltest.SQLite(t), sqltest.SQLite(t)
	if err := email.Migrate(ctx, edb); err != nil {
		t.Fatal(err)
	}
	if err := analytics.Migrate(ctx, adb); err != nil {
		t.Fatal(err)
	}
	eh, err := email.NewHandler()
	if err != nil {
		t.Fatal(err)
	}
	events := []order.Event{placedEvent("o-1", "u-1"), placedEvent("o-2", "u-2"),
		order.Shipped{OrderID: "o-1", Carrier: "DHL", TrackingNumber: "T1", ShippedAt: t0},
		order.Cancelled{OrderID: "o-2", Reason: order.ReasonPaymentFailed, CancelledAt: t0}}
	feed(t, edb, eh, events...)
	feed(t, adb, analytics.NewHandler(nil), events...)
	f := newFixture(t, httpapi.WithMailbox(email.NewMailbox(edb)), httpapi.WithAnalytics(analytics.NewReader(adb, nil).Summary))

	var list struct{ Messages []email.Message }
	if r := f.get(t, "/v1/mailbox?userId=u-1"); r.status != http.StatusOK {
		t.Fatalf("list: %d %s", r.status, r.body)
	} else {
		r.json(t, &list)
	}
	if len(list.Messages) != 2 || list.Messages[0].UserID != "u-1" || list.Messages[0].To != "u-1@example.test" {
		t.Fatalf("list u-1: %+v", list.Messages)
	}
	var one email.Message
	f.get(t, "/v1/mailbox/"+list.Messages[0].ID).json(t, &one)
	if one.ID != list.Messages[0].ID || one.TextBody == "" || one.HTMLBody == "" {
		t.Errorf("get: %+v", one)
	}
	f.get(t, "/v1/mailbox?orderId=o-2&limit=1").json(t, &list)
	if len(list.Messages) != 1 || list.Messages[0].OrderID != "o-2" {
		t.Errorf("list o-2 limit 1: %+v", list.Messages)
	}
	for _, path := range []string{"/v1/mailbox?limit=0", "/v1/mailbox?limit=501", "/v1/mailbox?limit=x"} {
		if r := f.get(t, path); r.status != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", path, r.status)
		} else {
			r.problem(t)
		}
	}
	if r := f.get(t, "/v1/mailbox/mail-nope"); r.status != http.StatusNotFound {
		t.Errorf("unknown mail: got %d, want 404", r.status)
	} else {
		r.problem(t)
	}

	var sum struct {
		OrdersByStatus map[string]int64
		Revenue        map[string]int64
		TopProducts    []struct {
			ProductID, Currency string
			Units, RevenueMinor int64
		}
		RevenueByMinute []any
	}
	f.get(t, "/v1/analytics/summary").json(t, &sum)
	if sum.OrdersByStatus["shipped"] != 1 || sum.OrdersByStatus["cancelled"] != 1 || sum.OrdersByStatus["placed"] != 0 ||
		len(sum.TopProducts) != 1 || sum.TopProducts[0].Units != 2 || sum.TopProducts[0].RevenueMinor != 2000 ||
		sum.Revenue == nil || sum.RevenueByMinute == nil {
		t.Errorf("summary: %+v", sum)
	}
}

func TestMailboxAndAnalyticsNeedTheirOptions(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/v1/mailbox", "/v1/mailbox/x", "/v1/analytics/summary"} {
		if r := f.get(t, path); r.status != http.StatusNotFound {
			t.Errorf("%s without the option: got %d, want 404", path, r.status)
		}
	}
}
