package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersvc"
)

func TestBadRequests(t *testing.T) {
	f := newFixture(t)
	id := f.place(t).OrderID
	if r := f.post(t, "/v1/orders/"+id+"/cancel", "", nil); r.status != http.StatusAccepted {
		t.Fatalf("cancel: got %d %s", r.status, r.body)
	}
	big := `{"userId": "` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		header      map[string]string
		want        int
		wantFields  []string // for 422: every field listed
		wantDetail  string
	}{
		{"malformed JSON", "POST", "/v1/orders", "application/json", `{"userId": `, nil, 400, nil, "malformed JSON"},
		{"not an object", "POST", "/v1/orders", "application/json", `[1,2]`, nil, 400, nil, ""},
		{"empty body", "POST", "/v1/orders", "application/json", ``, nil, 400, nil, "empty body"},
		{"trailing data", "POST", "/v1/orders", "application/json", validBody + `{}`, nil, 400, nil, "after the JSON value"},
		{"unknown field", "POST", "/v1/orders", "application/json", strings.Replace(validBody, `"currency"`, `"price": 1, "currency"`, 1), nil, 400, nil, `unknown field "price"`},
		{"wrong type", "POST", "/v1/orders", "application/json", strings.Replace(validBody, `"quantity": 2`, `"quantity": "2"`, 1), nil, 400, nil, "quantity"},
		{"deep nesting", "POST", "/v1/orders", "application/json", strings.Repeat("[", 100), nil, 400, nil, "nested"},
		{"bad idempotency key", "POST", "/v1/orders", "application/json", validBody, map[string]string{"Idempotency-Key": strings.Repeat("k", 300)}, 400, nil, "Idempotency-Key"},
		{"text/plain", "POST", "/v1/orders", "text/plain", validBody, nil, 415, nil, ""},
		{"no content type", "POST", "/v1/orders", "", validBody, nil, 415, nil, ""},
		{"body over 1 MiB", "POST", "/v1/orders", "application/json", big, nil, 413, nil, ""},
		{"invalid values", "POST", "/v1/orders", "application/json", `{"userId": "", "items": [{"productId": "p-nope", "quantity": 0}, {"productId": "p-1", "quantity": 1001}],
			"currency": "XYZ", "paymentMethod": "cash", "shippingAddress": {"name": "", "line1": "", "city": "", "country": "usa"}}`, nil, 422,
			[]string{"userId", "items[0].productId", "items[0].quantity", "items[1].quantity", "currency", "paymentMethod",
				"shippingAddress.name", "shippingAddress.line1", "shippingAddress.city", "shippingAddress.country"}, ""},
		{"no items, no address", "POST", "/v1/orders", "application/json", `{"userId": "u-1", "items": [], "currency": "USD"}`, nil, 422,
			[]string{"items", "shippingAddress"}, ""},
		{"sold-out product is still orderable", "POST", "/v1/orders", "application/json", strings.Replace(validBody, `"p-1"`, `"p-sold-out"`, 1), nil, 202, nil, ""},
		{"unknown order", "GET", "/v1/orders/nope", "", "", nil, 404, nil, ""},
		{"unknown order events", "GET", "/v1/orders/nope/events", "", "", nil, 404, nil, ""},
		{"cancel unknown order", "POST", "/v1/orders/nope/cancel", "", "", nil, 404, nil, ""},
		{"cancel after cancel", "POST", "/v1/orders/" + id + "/cancel", "", "", nil, 409, nil, "cancelled"},
		{"unknown product", "GET", "/v1/products/nope", "", "", nil, 404, nil, ""},
		{"unknown route", "GET", "/v2/whatever", "", "", nil, 404, nil, ""},
		{"wrong method", "DELETE", "/v1/orders", "", "", nil, 405, nil, "POST"},
		{"bad at", "GET", "/v1/orders/" + id + "?at=yesterday", "", "", nil, 400, nil, "RFC 3339"},
		{"two ats", "GET", "/v1/orders/" + id + "?at=2026-11-25T15:00:00Z&at=2026-11-25T15:00:00Z", "", "", nil, 400, nil, ""},
		{"empty at", "GET", "/v1/orders/" + id + "?at=", "", "", nil, 400, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, f.url+tt.path, tt.contentType, []byte(tt.body), tt.header)
			if r.status != tt.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.want)
			}
			if tt.want < 400 {
				return
			}
			p := r.problem(t)
			if !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("detail %q does not mention %q", p.Detail, tt.wantDetail)
			}
			var fields []string
			for _, fe := range p.Errors {
				fields = append(fields, fe.Field)
			}
			for _, want := range tt.wantFields {
				if !slices.Contains(fields, want) {
					t.Errorf("422 does not list %s; it lists %v", want, fields)
				}
			}
			if tt.want == 405 && r.header.Get("Allow") == "" {
				t.Errorf("405 without Allow header")
			}
		})
	}
}

func TestPlaceAndGet(t *testing.T) {
	f := newFixture(t)
	p := f.place(t)
	if p.Status != "placed" || p.OrderID == "" || p.CorrelationID == "" || p.ConsistencyToken == "" {
		t.Fatalf("got %+v", p)
	}
	r := f.get(t, "/v1/orders/"+p.OrderID)
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var v ordersvc.OrderView
	r.json(t, &v)
	if v.Status != "placed" || v.UserID != "u-42" || v.Currency != "USD" || v.TotalMinor != 2*499 || v.Total != "9.98" ||
		len(v.Items) != 1 || v.Items[0].UnitPriceMinor != 499 || v.CorrelationID != p.CorrelationID ||
		len(v.Timeline) != 1 || v.Timeline[0].EventType != "order.placed" || !v.Timeline[0].At.Equal(t0) {
		t.Errorf("got %+v", v)
	}
}

func TestIdempotencyKeyOverHTTP(t *testing.T) {
	f := newFixture(t)
	key := map[string]string{"Idempotency-Key": "abc-123"}
	first := f.post(t, "/v1/orders", validBody, key)
	if first.status != http.StatusAccepted {
		t.Fatalf("first: got %d %s", first.status, first.body)
	}
	tests := []struct {
		name         string
		body         string
		want         int
		wantReplayed string
	}{
		{"same body", validBody, 202, "true"},
		{"same body, other formatting", compact(t, validBody), 202, "true"},
		{"different body", strings.Replace(validBody, `"quantity": 2`, `"quantity": 3`, 1), 409, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.post(t, "/v1/orders", tt.body, key)
			if r.status != tt.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.want)
			}
			if tt.want != 202 {
				r.problem(t)
				return
			}
			if string(r.body) != string(first.body) {
				t.Errorf("got %s, want the first answer %s", r.body, first.body)
			}
			if got := r.header.Get("Idempotent-Replayed"); got != tt.wantReplayed {
				t.Errorf("Idempotent-Replayed: got %q, want %q", got, tt.wantReplayed)
			}
		})
	}
}

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestConcurrentSameKeyOverHTTP(t *testing.T) {
	f := newFixture(t)
	const n = 12
	var wg sync.WaitGroup
	bodies := make([]string, n)
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			r := f.post(t, "/v1/orders", validBody, map[string]string{"Idempotency-Key": "same"})
			statuses[i], bodies[i] = r.status, string(r.body)
		})
	}
	wg.Wait()
	for i := range n {
		if statuses[i] != 202 || bodies[i] != bodies[0] {
			t.Errorf("request %d: got %d %s, want 202 %s", i, statuses[i], bodies[i], bodies[0])
		}
	}
	recs, err := f.svc.Store().ReadAll(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Errorf("got %d events, want 1 order.placed", len(recs))
	}
}

func TestStateAt(t *testing.T) {
	f := newFixture(t)
	id := f.place(t).OrderID // at t0
	f.clock.Set(t0.Add(time.Hour))
	if r := f.post(t, "/v1/orders/"+id+"/cancel", "", nil); r.status != 202 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	tests := []struct {
		name       string
		at         string
		wantStatus int
		want       string // order status
		wantEvents int
	}{
		{"before the first event", "2026-11-25T14:59:59Z", 404, "", 0},
		{"at the placement", "2026-11-25T15:00:00Z", 200, "placed", 1},
		{"between", "2026-11-25T15:30:00Z", 200, "placed", 1},
		{"other zone, same instant as between", "2026-11-25T16:30:00+01:00", 200, "placed", 1},
		{"fractional seconds", "2026-11-25T15:59:59.999Z", 200, "placed", 1},
		{"at the cancellation", "2026-11-25T16:00:00Z", 200, "cancelled", 2},
		{"long after", "2030-01-01T00:00:00Z", 200, "cancelled", 2},
		{"year 1", "0001-01-01T00:00:00Z", 404, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(t, "/v1/orders/"+id+"?at="+strings.ReplaceAll(tt.at, "+", "%2B"))
			if r.status != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				r.problem(t)
				return
			}
			var v ordersvc.OrderView
			r.json(t, &v)
			if v.Status != tt.want || len(v.Timeline) != tt.wantEvents || v.AsOf == nil {
				t.Errorf("got status %q, %d events, asOf %v; want %q, %d", v.Status, len(v.Timeline), v.AsOf, tt.want, tt.wantEvents)
			}
		})
	}
	var now ordersvc.OrderView
	f.get(t, "/v1/orders/"+id).json(t, &now)
	if now.Status != "cancelled" || now.CancellationReason != "customer_cancelled" || now.AsOf != nil {
		t.Errorf("current: got %q %q asOf %v", now.Status, now.CancellationReason, now.AsOf)
	}
}

func TestEventsInOrder(t *testing.T) {
	f := newFixture(t)
	p := f.place(t)
	f.clock.Set(t0.Add(time.Minute))
	f.post(t, "/v1/orders/"+p.OrderID+"/cancel", "", nil)
	r := f.get(t, "/v1/orders/"+p.OrderID+"/events")
	if r.status != 200 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	var got httpapi.EventsResponse
	r.json(t, &got)
	var types []string
	for _, e := range got.Events {
		types = append(types, e.EventType)
	}
	if want := []string{"order.placed", "order.cancelled"}; !slices.Equal(types, want) {
		t.Fatalf("got %v, want %v", types, want)
	}
	placed, cancelled := got.Events[0], got.Events[1]
	if placed.Version != 2 || placed.Metadata.CorrelationID != p.CorrelationID || placed.Metadata.Source != "order-service" ||
		cancelled.Metadata.CausationID != placed.EventID || !cancelled.Timestamp.Equal(t0.Add(time.Minute)) {
		t.Errorf("got %+v", got.Events)
	}
	// The body holds the exact wire envelopes.
	if !strings.Contains(string(r.body), `"timestamp":"2026-11-25T15:00:00.000Z"`) {
		t.Errorf("body lacks the envelope timestamp format: %s", r.body)
	}
}

func TestProducts(t *testing.T) {
	f := newFixture(t)
	var list struct {
		Products   []httpapi.ProductView
		Currencies []string
	}
	f.get(t, "/v1/products").json(t, &list)
	if len(list.Products) != 21 || list.Products[0].ID != "p-1" || !slices.Equal(list.Currencies, []string{"EUR", "GBP", "USD"}) {
		t.Errorf("got %d products, currencies %v", len(list.Products), list.Currencies)
	}
	var p httpapi.ProductView
	f.get(t, "/v1/products/p-sold-out").json(t, &p)
	if p.Stock != 0 || p.Prices["USD"] != 999 || p.StockSource != "catalog" {
		t.Errorf("got %+v", p)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var mu sync.Mutex
	var notReady error = errors.New("relay not started")
	f := newFixture(t, httpapi.WithReadiness(func(context.Context) error { mu.Lock(); defer mu.Unlock(); return notReady }))
	if r := f.get(t, "/healthz"); r.status != 200 {
		t.Errorf("healthz: got %d", r.status)
	}
	r := f.get(t, "/readyz")
	if r.status != 503 || !strings.Contains(r.problem(t).Detail, "relay not started") {
		t.Errorf("readyz before: got %d %s", r.status, r.body)
	}
	mu.Lock()
	notReady = nil
	mu.Unlock()
	if r := f.get(t, "/readyz"); r.status != 200 {
		t.Errorf("readyz after: got %d %s", r.status, r.body)
	}
}

// brokenOrders fails every call in its own way.
type brokenOrders struct{ *ordersvc.Service }

func (brokenOrders) Place(context.Context, ordersvc.PlaceRequest, string) (ordersvc.PlaceResult, error) {
	panic("boom")
}
func (brokenOrders) Get(context.Context, string) (ordersvc.OrderView, error) {
	return ordersvc.OrderView{}, fmt.Errorf("disk on fire: /secret/path")
}
func (brokenOrders) GetAt(context.Context, string, time.Time) (ordersvc.OrderView, error) {
	return ordersvc.OrderView{}, context.DeadlineExceeded
}
func (brokenOrders) Cancel(context.Context, string) (ordersvc.CancelResult, error) {
	return ordersvc.CancelResult{}, nil
}
func (brokenOrders) Events(context.Context, string) ([]event.Envelope, error) { return nil, nil }

func TestServerFailuresAreProblems(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(brokenOrders{}, catalog.Default(), httpapi.WithoutAuth()))
	defer srv.Close()
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"panic", "POST", "/v1/orders", validBody, 500},
		{"internal error", "GET", "/v1/orders/x", "", 500},
		{"deadline", "GET", "/v1/orders/x?at=2026-01-01T00:00:00Z", "", 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, srv.URL+tt.path, "application/json", []byte(tt.body), nil)
			if r.status != tt.want {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.want)
			}
			p := r.problem(t)
			if strings.Contains(p.Detail, "secret") || strings.Contains(p.Detail, "boom") {
				t.Errorf("detail leaks the cause: %q", p.Detail)
			}
		})
	}
}
