package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/readmodel"
)

// fakeRead is a read model holding the orders it is given; tokens it has
// "applied" are in applied.
type fakeRead struct {
	mu      sync.Mutex
	orders  map[string]readmodel.Order
	applied map[string]bool
	tokens  []string // every token Consistent saw
}

func (f *fakeRead) Consistent(_ context.Context, _, tok string) (bool, error) {
	if tok == "" {
		return false, nil
	}
	if _, err := readmodel.ParseToken(tok); err != nil {
		return false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, tok)
	return !f.applied[tok], nil
}

func (f *fakeRead) Order(_ context.Context, id string) (readmodel.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.orders[id]
	if !ok {
		return readmodel.Order{}, fmt.Errorf("%w: %s", readmodel.ErrNotFound, id)
	}
	return o, nil
}

func (f *fakeRead) UserOrders(_ context.Context, user, cur string, limit int) (readmodel.UserOrdersPage, error) {
	if cur == "bad" {
		return readmodel.UserOrdersPage{}, readmodel.ErrBadCursor
	}
	return readmodel.UserOrdersPage{UserID: user, Orders: []readmodel.UserOrder{{OrderID: fmt.Sprint("limit-", limit)}}}, nil
}

func (f *fakeRead) ProductSales(context.Context) ([]readmodel.ProductSale, error) {
	return []readmodel.ProductSale{{ProductID: "p-1", Units: 3}}, nil
}

func TestReadModelOrder(t *testing.T) {
	rm := &fakeRead{orders: map[string]readmodel.Order{}, applied: map[string]bool{}}
	f := newFixture(t, httpapi.WithReadModel(rm))
	p := f.place(t)

	// Known to the event store only: answered from it, marked stale.
	r := f.get(t, "/v1/orders/"+p.OrderID)
	var body struct {
		OrderID, Status, Source string
		Stale                   bool
	}
	r.json(t, &body)
	if r.status != http.StatusOK || body.OrderID != p.OrderID || body.Status != "placed" || !body.Stale || body.Source != "event-store" ||
		r.header.Get(httpapi.StaleHeader) != "true" {
		t.Errorf("event-store fallback: %d %s %v", r.status, r.body, r.header)
	}
	// Unknown to both: 404.
	if r := f.get(t, "/v1/orders/01a00000-0000-7000-8000-000000000000"); r.status != http.StatusNotFound {
		t.Errorf("unknown order: %d %s", r.status, r.body)
	}

	// In the read model, token applied: fresh.
	rm.mu.Lock()
	rm.orders[p.OrderID] = readmodel.Order{OrderID: p.OrderID, Status: "paid", Source: "read-model"}
	rm.applied[p.ConsistencyToken] = true
	rm.mu.Unlock()
	r = f.get(t, "/v1/orders/"+p.OrderID+"?consistentWith="+p.ConsistencyToken)
	body.Stale = true
	r.json(t, &body)
	if r.status != http.StatusOK || body.Status != "paid" || body.Stale || body.Source != "read-model" || r.header.Get(httpapi.StaleHeader) != "" {
		t.Errorf("read model: %d %s", r.status, r.body)
	}
	// A token not applied yet (the header form): stale marker.
	r = do(t, http.MethodGet, f.url+"/v1/orders/"+p.OrderID, "", nil, map[string]string{httpapi.ConsistentWithHeader: "999"})
	r.json(t, &body)
	if r.status != http.StatusOK || !body.Stale || r.header.Get(httpapi.StaleHeader) != "true" {
		t.Errorf("stale: %d %s", r.status, r.body)
	}
	// Garbage tokens, or two that disagree: 400.
	for _, q := range []string{"?consistentWith=abc", "?consistentWith=", "?consistentWith=1&consistentWith=2"} {
		if r := f.get(t, "/v1/orders/"+p.OrderID+q); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		} else {
			r.problem(t)
		}
	}
	r = do(t, http.MethodGet, f.url+"/v1/orders/"+p.OrderID+"?consistentWith=1", "", nil, map[string]string{httpapi.ConsistentWithHeader: "2"})
	if r.status != http.StatusBadRequest {
		t.Errorf("disagreeing token: %d", r.status)
	}
	// ?at= still folds the event store.
	r = f.get(t, "/v1/orders/"+p.OrderID+"?at=2026-11-25T16:00:00Z")
	var at struct{ Status, Source string }
	r.json(t, &at)
	if r.status != http.StatusOK || at.Status != "placed" || at.Source != "" {
		t.Errorf("?at=: %d %s", r.status, r.body)
	}
}

func TestReadModelUserOrders(t *testing.T) {
	rm := &fakeRead{orders: map[string]readmodel.Order{}, applied: map[string]bool{"7": true}}
	f := newFixture(t, httpapi.WithReadModel(rm))
	var page readmodel.UserOrdersPage
	r := f.get(t, "/v1/users/u-1/orders")
	r.json(t, &page)
	if r.status != http.StatusOK || page.UserID != "u-1" || page.Orders[0].OrderID != "limit-20" || page.Stale {
		t.Errorf("default page: %d %s", r.status, r.body)
	}
	r = f.get(t, "/v1/users/u-1/orders?limit=100&consistentWith=7")
	r.json(t, &page)
	if r.status != http.StatusOK || page.Orders[0].OrderID != "limit-100" || page.Stale {
		t.Errorf("limit 100: %d %s", r.status, r.body)
	}
	r = f.get(t, "/v1/users/u-1/orders?consistentWith=8")
	r.json(t, &page)
	if !page.Stale || r.header.Get(httpapi.StaleHeader) != "true" {
		t.Errorf("stale page: %s", r.body)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?cursor=bad", "?limit=1&limit=2", "?consistentWith=zz"} {
		if r := f.get(t, "/v1/users/u-1/orders"+q); r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
	r = f.get(t, "/v1/analytics/products")
	if r.status != http.StatusOK {
		t.Errorf("products: %d %s", r.status, r.body)
	}
}

func TestWithoutReadModelNoUserOrders(t *testing.T) {
	f := newFixture(t)
	if r := f.get(t, "/v1/users/u-1/orders"); r.status != http.StatusNotFound {
		t.Errorf("without a read model: %d", r.status)
	}
}
