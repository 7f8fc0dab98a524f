package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/dashboard"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/prometheus/client_golang/prometheus"
)

// TestDashboardRoutes: the page and its static files are public, its data
// needs orders:read, unknown paths are still 404 problems (GET /{$} matches
// only /), and the recent orders list a placed order with its status.
func TestDashboardRoutes(t *testing.T) {
	base := newFixture(t) // the order service
	api := httpapi.New(base.svc, catalog.Default(), httpapi.WithLogger(slog.New(slog.DiscardHandler)), httpapi.WithAuth(testTokens(t)),
		httpapi.WithDashboard(dashboard.New(dashboard.Config{Metrics: prometheus.NewRegistry(), Orders: base.svc})))
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	f := &fixture{url: srv.URL, clock: base.clock, svc: base.svc, db: base.db, api: api}
	routes := f.api.Routes()
	for p, want := range map[string]string{
		"GET /{$}":                     "public",
		"GET /dashboard/static/{file}": "public",
		"GET /v1/dashboard/state":      "orders:read",
		"GET /v1/dashboard/orders":     "orders:read",
		"GET /v1/dashboard/stream":     "orders:read",
	} {
		if got := routes[p]; got.String() != want {
			t.Errorf("%s: access %v, want %s", p, got, want)
		}
	}
	if r := f.get(t, "/"); r.status != http.StatusOK || !strings.Contains(string(r.body), "dashboard.js") {
		t.Errorf("GET / without a token: %d %q", r.status, r.body)
	}
	if r := f.get(t, "/dashboard/static/dashboard.js"); r.status != http.StatusOK {
		t.Errorf("GET dashboard.js without a token: %d", r.status)
	}
	if r := f.get(t, "/no-such-page"); r.status != http.StatusNotFound {
		t.Errorf("GET /no-such-page: %d, want 404", r.status)
	} else {
		r.problem(t)
	}
	for _, p := range []string{"/v1/dashboard/state", "/v1/dashboard/orders", "/v1/dashboard/stream"} {
		if r := f.get(t, p); r.status != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", p, r.status)
		}
		if r := do(t, "GET", f.url+p, "", nil, bearer(writerSecret)); r.status != http.StatusForbidden {
			t.Errorf("GET %s with orders:write: %d, want 403", p, r.status)
		}
		if p == "/v1/dashboard/stream" {
			continue // 200 and never ends: the dashboard package tests it, and the Chromium test reads it
		}
		if r := do(t, "GET", f.url+p, "", nil, bearer(readerSecret)); r.status != http.StatusOK {
			t.Errorf("GET %s with orders:read: %d, want 200", p, r.status)
		}
	}

	pl := do(t, "POST", f.url+"/v1/orders", "application/json", []byte(validBody), bearer(writerSecret))
	var placedOrder placed
	pl.json(t, &placedOrder)
	var recent struct {
		Orders []dashboard.RecentOrder `json:"orders"`
	}
	do(t, "GET", f.url+"/v1/dashboard/orders", "", nil, bearer(readerSecret)).json(t, &recent)
	if len(recent.Orders) != 1 || recent.Orders[0].OrderID != placedOrder.OrderID || recent.Orders[0].Status != "placed" {
		t.Errorf("recent orders = %+v, want %s placed", recent.Orders, placedOrder.OrderID)
	}
}
