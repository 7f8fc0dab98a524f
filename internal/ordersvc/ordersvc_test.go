package ordersvc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

type opener = func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB

func newService(t *testing.T, open opener) (*ordersvc.Service, *sqldb.DB) {
	t.Helper()
	db := open(t)
	if err := ordersvc.Migrate(context.Background(), db); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	svc, err := ordersvc.New(db, catalog.Default())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc, db
}

func request(user string) ordersvc.PlaceRequest {
	return ordersvc.PlaceRequest{
		UserID:          user,
		Items:           []ordersvc.LineRequest{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-3", Quantity: 1}},
		Currency:        "USD",
		PaymentMethod:   "card_ok",
		ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"},
	}
}

type outboxRow struct {
	Topic, Key string
	Value      []byte
	Headers    map[string]string
}

func outboxRows(t *testing.T, db *sqldb.DB) []outboxRow {
	t.Helper()
	rows, err := db.Read.QueryContext(context.Background(), `SELECT topic, key, value, headers FROM outbox ORDER BY id`)
	if err != nil {
		t.Fatalf("query outbox: %v", err)
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		var hs []byte
		if err := rows.Scan(&r.Topic, &r.Key, &r.Value, &hs); err != nil {
			t.Fatalf("scan: %v", err)
		}
		var list []struct{ Key, Value string }
		if err := json.Unmarshal(hs, &list); err != nil {
			t.Fatalf("headers %s: %v", hs, err)
		}
		r.Headers = map[string]string{}
		for _, h := range list {
			r.Headers[h.Key] = h.Value
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countEvents(t *testing.T, svc *ordersvc.Service) int {
	t.Helper()
	recs, err := svc.Store().ReadAll(context.Background(), 0, 10000)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return len(recs)
}

var traceparentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)

func TestPlaceWritesEventAndOutboxRowTogether(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, db := newService(t, open)
		ctx := context.Background()
		res, err := svc.Place(ctx, request("u-42"), "")
		if err != nil {
			t.Fatalf("Place: %v", err)
		}
		if res.Status != "placed" || res.OrderID == "" || res.CorrelationID == "" || res.ConsistencyToken != "1" {
			t.Errorf("got %+v, want status placed, ids and token 1", res)
		}
		v, err := svc.Get(ctx, res.OrderID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		// Prices come from the catalog: p-1 499, p-3 999 USD.
		if got, want := v.TotalMinor, int64(2*499+999); got != want {
			t.Errorf("total: got %d, want %d", got, want)
		}
		if got, want := v.Total, "19.97"; got != want {
			t.Errorf("total: got %q, want %q", got, want)
		}
		rows := outboxRows(t, db)
		if len(rows) != 1 {
			t.Fatalf("got %d outbox rows, want 1", len(rows))
		}
		r := rows[0]
		if r.Topic != "orders" || r.Key != "u-42" {
			t.Errorf("got topic %q key %q, want orders u-42", r.Topic, r.Key)
		}
		var env event.Envelope
		if err := json.Unmarshal(r.Value, &env); err != nil {
			t.Fatalf("value: %v", err)
		}
		if env.EventType != order.TypePlaced || env.Metadata.CorrelationID != res.CorrelationID || env.Metadata.Source != "order-service" {
			t.Errorf("envelope: got %+v", env)
		}
		for k, want := range map[string]string{
			event.HeaderType: order.TypePlaced, event.HeaderID: env.EventID,
			event.HeaderCorrelationID: res.CorrelationID, event.HeaderSubject: res.OrderID,
		} {
			if got := r.Headers[k]; got != want {
				t.Errorf("header %s: got %q, want %q", k, got, want)
			}
		}
		if tp := r.Headers["traceparent"]; !traceparentRE.MatchString(tp) {
			t.Errorf("traceparent: got %q", tp)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	other := request("u-42")
	other.Items[0].Quantity = 3
	defaulted := request("u-42")
	defaulted.PaymentMethod = ""
	tests := []struct {
		name    string
		second  ordersvc.PlaceRequest
		key2    string
		wantErr error
		same    bool // the second answer is the first one
	}{
		{"same key, same body", request("u-42"), "k-1", nil, true},
		{"same key, body equal after defaults", defaulted, "k-1", nil, true},
		{"same key, other quantity", other, "k-1", ordersvc.ErrIdempotencyMismatch, false},
		{"same key, other user", request("u-7"), "k-1", ordersvc.ErrIdempotencyMismatch, false},
		{"other key, same body", request("u-42"), "k-2", nil, false},
		{"no key, same body", request("u-42"), "", nil, false},
	}
	sqltest.Each(t, func(t *testing.T, open opener) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				svc, _ := newService(t, open)
				ctx := context.Background()
				first, err := svc.Place(ctx, request("u-42"), "k-1")
				if err != nil {
					t.Fatalf("first Place: %v", err)
				}
				second, err := svc.Place(ctx, tt.second, tt.key2)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("second Place: got err %v, want %v", err, tt.wantErr)
				}
				if err != nil {
					if n := countEvents(t, svc); n != 1 {
						t.Errorf("got %d events, want 1", n)
					}
					return
				}
				if tt.same {
					if !second.Replayed {
						t.Errorf("second answer not marked replayed")
					}
					second.Replayed = false
					if second != first {
						t.Errorf("got %+v, want the first answer %+v", second, first)
					}
					if n := countEvents(t, svc); n != 1 {
						t.Errorf("got %d events, want 1", n)
					}
				} else if second.OrderID == first.OrderID {
					t.Errorf("got the same order %s, want a new one", second.OrderID)
				}
			})
		}
	})
}

func TestConcurrentRetriesPlaceOneOrder(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, db := newService(t, open)
		const n = 16
		var wg sync.WaitGroup
		results := make([]ordersvc.PlaceResult, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = svc.Place(context.Background(), request("u-42"), "retry-me")
			})
		}
		wg.Wait()
		replayed := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			if results[i].Replayed {
				replayed++
			}
			r := results[i]
			r.Replayed = false
			r0 := results[0]
			r0.Replayed = false
			if r != r0 {
				t.Errorf("request %d: got %+v, want %+v", i, r, r0)
			}
		}
		if replayed != n-1 {
			t.Errorf("got %d replayed answers, want %d", replayed, n-1)
		}
		if got := countEvents(t, svc); got != 1 {
			t.Errorf("got %d events, want 1", got)
		}
		if got := len(outboxRows(t, db)); got != 1 {
			t.Errorf("got %d outbox rows, want 1", got)
		}
	})
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, svc *ordersvc.Service, id string)
		wantErr error
	}{
		{"placed", func(*testing.T, *ordersvc.Service, string) {}, nil},
		{"paid", func(t *testing.T, svc *ordersvc.Service, id string) { update(t, svc, id, markPaid) }, nil},
		{"already cancelled", func(t *testing.T, svc *ordersvc.Service, id string) {
			if _, err := svc.Cancel(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}, order.ErrIllegalTransition},
		{"shipped", func(t *testing.T, svc *ordersvc.Service, id string) {
			update(t, svc, id, markPaid, markReserved, markShipped)
		}, order.ErrIllegalTransition},
	}
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, _ := newService(t, open)
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				placed, err := svc.Place(ctx, request("u-1"), "")
				if err != nil {
					t.Fatal(err)
				}
				tt.prepare(t, svc, placed.OrderID)
				res, err := svc.Cancel(ctx, placed.OrderID)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Cancel: got %v, want %v", err, tt.wantErr)
				}
				if err == nil && res.Status != "cancelled" {
					t.Errorf("got status %q, want cancelled", res.Status)
				}
			})
		}
		t.Run("unknown order", func(t *testing.T) {
			for _, id := range []string{"nope", "", string(make([]byte, 300)), "a b"} {
				if _, err := svc.Cancel(ctx, id); !errors.Is(err, order.ErrNotFound) {
					t.Errorf("Cancel(%.10q): got %v, want ErrNotFound", id, err)
				}
			}
		})
	})
}

func TestCancelKeepsTheFlow(t *testing.T) {
	svc, _ := newService(t, sqltest.SQLite)
	ctx := context.Background()
	placed, err := svc.Place(ctx, request("u-1"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Cancel(ctx, placed.OrderID); err != nil {
		t.Fatal(err)
	}
	evs, err := svc.Events(ctx, placed.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].EventType != order.TypePlaced || evs[1].EventType != order.TypeCancelled {
		t.Fatalf("got %d events %v, want placed, cancelled", len(evs), evs)
	}
	if got := evs[1].Metadata; got.CorrelationID != placed.CorrelationID || got.CausationID != evs[0].EventID {
		t.Errorf("cancel metadata: got %+v, want correlation %s caused by %s", got, placed.CorrelationID, evs[0].EventID)
	}
}

func TestPlaceRejectsWhatTheCatalogDoesNotSell(t *testing.T) {
	svc, _ := newService(t, sqltest.SQLite)
	req := request("u-1")
	req.Items[1].ProductID = "p-unknown"
	req.Currency = "XYZ"
	_, err := svc.Place(context.Background(), req, "")
	var ve *order.ValidationError
	if !errors.As(err, &ve) || len(ve.Problems) != 2 {
		t.Fatalf("got %v, want a validation error with 2 problems", err)
	}
}

func TestFormatMinor(t *testing.T) {
	for _, tt := range []struct {
		minor    int64
		currency string
		want     string
	}{{0, "USD", "0.00"}, {5, "USD", "0.05"}, {1999, "EUR", "19.99"}, {-150, "USD", "-1.50"}, {2599, "JPY", "2599"}} {
		if got := ordersvc.FormatMinor(tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatMinor(%d, %s): got %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

type step func(o *order.Order) error

var (
	markPaid     step = func(o *order.Order) error { _, err := o.MarkPaid("pay-1", time.Now()); return err }
	markReserved step = func(o *order.Order) error { _, err := o.MarkReserved("res-1", time.Now()); return err }
	markShipped  step = func(o *order.Order) error { _, err := o.MarkShipped("UPS", "1Z", time.Now()); return err }
)

// update moves an order on as the saga handlers will, through the
// service's repository.
func update(t *testing.T, svc *ordersvc.Service, id string, steps ...step) {
	t.Helper()
	for i, s := range steps {
		md := event.Metadata{CorrelationID: event.NewID(), Source: "test"}
		if _, err := svc.Repository().Update(context.Background(), id, md, s); err != nil {
			t.Fatalf("step %d: %v", i, fmt.Errorf("update %s: %w", id, err))
		}
	}
}
