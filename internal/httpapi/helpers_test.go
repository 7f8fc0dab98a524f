package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

var t0 = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

type fixture struct {
	url   string
	clock *clock
	svc   *ordersvc.Service
	db    *sqldb.DB
	api   *httpapi.Server
}

// newFixture serves the API over a real order service on SQLite in
// t.TempDir, with a clock at t0. Auth is off unless opts say otherwise
// (New's own default denies every /v1 route).
func newFixture(t testing.TB, opts ...httpapi.Option) *fixture {
	t.Helper()
	db := sqltest.SQLite(t)
	if err := ordersvc.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: t0}
	svc, err := ordersvc.New(db, catalog.Default(), ordersvc.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	api := httpapi.New(svc, catalog.Default(), append([]httpapi.Option{httpapi.WithLogger(slog.New(slog.DiscardHandler)), httpapi.WithoutAuth()}, opts...)...)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &fixture{url: srv.URL, clock: clk, svc: svc, db: db, api: api}
}

// rows counts what the order service has written: events, outbox rows and
// claimed idempotency keys.
type rows struct{ events, outbox, keys int }

func (f *fixture) rows(t testing.TB) rows {
	t.Helper()
	var r rows
	for _, c := range []struct {
		table string
		n     *int
	}{{"events", &r.events}, {"outbox", &r.outbox}, {"order_idempotency", &r.keys}} {
		if err := f.db.Read.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+c.table).Scan(c.n); err != nil {
			t.Fatalf("count %s: %v", c.table, err)
		}
	}
	return r
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %d %q: %v", r.status, r.body, err)
	}
}

// problem decodes a problem+json body, failing on another content type.
func (r response) problem(t *testing.T) httpapi.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type: got %q, want application/problem+json (body %q)", ct, r.body)
	}
	var p httpapi.Problem
	r.json(t, &p)
	if p.Status != r.status {
		t.Errorf("problem status %d in a %d response", p.Status, r.status)
	}
	return p
}

func do(t *testing.T, method, url, contentType string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (f *fixture) get(t *testing.T, path string) response {
	t.Helper()
	return do(t, http.MethodGet, f.url+path, "", nil, nil)
}

func (f *fixture) post(t *testing.T, path, body string, header map[string]string) response {
	t.Helper()
	return do(t, http.MethodPost, f.url+path, "application/json", []byte(body), header)
}

const validBody = `{"userId": "u-42",
 "items": [{"productId": "p-1", "quantity": 2}],
 "currency": "USD",
 "paymentMethod": "card_ok",
 "shippingAddress": {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "country": "US"}}`

type placed struct {
	OrderID, CorrelationID, Status, ConsistencyToken string
}

// place posts validBody and returns the 202 answer.
func (f *fixture) place(t *testing.T) placed {
	t.Helper()
	r := f.post(t, "/v1/orders", validBody, nil)
	if r.status != http.StatusAccepted {
		t.Fatalf("place: got %d %s, want 202", r.status, r.body)
	}
	var p placed
	r.json(t, &p)
	return p
}
