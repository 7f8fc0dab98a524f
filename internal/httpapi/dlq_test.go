package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
)

// TestDefaultDeniesAll: New without WithAuth or WithoutAuth is secure by
// default: every /v1 route answers 401, the public ones still answer.
func TestDefaultDeniesAll(t *testing.T) {
	srv := httptest.NewServer(httpapi.New(nil, catalog.Default(),
		httpapi.WithRoute("GET /metrics", httpapi.Public(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("m")) }))))
	defer srv.Close()
	for path, want := range map[string]int{"/v1/products": 401, "/v1/orders/x": 401, "/healthz": 200, "/metrics": 200} {
		if r := do(t, http.MethodGet, srv.URL+path, "", nil, nil); r.status != want {
			t.Errorf("GET %s: got %d, want %d", path, r.status, want)
		}
	}
	if r := do(t, http.MethodPost, srv.URL+"/v1/orders", "application/json", []byte(validBody), nil); r.status != 401 {
		t.Errorf("POST /v1/orders: got %d, want 401", r.status)
	}
}

// fakeDLQ records calls and answers with canned results or err.
type fakeDLQ struct {
	mu    sync.Mutex
	calls []string
	err   error
	res   *dlq.ReplayResult
}

func (f *fakeDLQ) log(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeDLQ) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeDLQ) List(_ context.Context, flt dlq.Filter) ([]dlq.Letter, error) {
	f.log("list group=%s status=%s limit=%d", flt.Group, flt.Status, flt.Limit)
	return []dlq.Letter{{ID: "g/orders/0/1", Group: "g"}}, f.err
}

func (f *fakeDLQ) Show(_ context.Context, id string) (*dlq.Detail, error) {
	f.log("show %s", id)
	if f.err != nil {
		return nil, f.err
	}
	return &dlq.Detail{Letter: dlq.Letter{ID: id}, Envelope: []byte(`{"eventId":"e-1"}`)}, nil
}

func (f *fakeDLQ) Replay(_ context.Context, sel dlq.Selection, o dlq.ReplayOptions) (*dlq.ReplayResult, error) {
	f.log("replay ids=%v group=%s op=%s reason=%s dry=%v force=%v rate=%v", sel.IDs, sel.Filter.Group, o.Operator, o.Reason, o.DryRun, o.Force, o.Rate)
	if f.res != nil {
		return f.res, f.err
	}
	if f.err != nil {
		return nil, f.err
	}
	return &dlq.ReplayResult{Replayed: len(sel.IDs)}, nil
}

func (f *fakeDLQ) Discard(_ context.Context, id string, o dlq.DiscardOptions) (dlq.Outcome, error) {
	f.log("discard %s op=%s reason=%s", id, o.Operator, o.Reason)
	if o.Reason == "" {
		return dlq.Outcome{}, dlq.ErrReasonRequired
	}
	return dlq.Outcome{LetterID: id, Result: dlq.ResultDiscarded}, f.err
}

func TestDLQRoutes(t *testing.T) {
	fake := &fakeDLQ{}
	srv := httptest.NewServer(httpapi.New(nil, catalog.Default(), httpapi.WithAuth(testTokens(t)), httpapi.WithDLQ(fake)))
	defer srv.Close()
	id := url.PathEscape("payment-service/orders/3/1042")
	admin := bearer(adminSecret)

	// admin scope only.
	if r := do(t, http.MethodGet, srv.URL+"/v1/dlq", "", nil, bearer(readerSecret)); r.status != 403 {
		t.Errorf("reader: got %d, want 403", r.status)
	}
	if r := do(t, http.MethodGet, srv.URL+"/v1/dlq", "", nil, nil); r.status != 401 {
		t.Errorf("no token: got %d, want 401", r.status)
	}

	r := do(t, http.MethodGet, srv.URL+"/v1/dlq?group=g&status=unresolved&limit=5", "", nil, admin)
	if r.status != 200 || !strings.Contains(string(r.body), `"letters":[{"id":"g/orders/0/1"`) || fake.last() != "list group=g status=unresolved limit=5" {
		t.Errorf("list: %d %s; call %q", r.status, r.body, fake.last())
	}
	if r := do(t, http.MethodGet, srv.URL+"/v1/dlq?since=yesterday", "", nil, admin); r.status != 400 {
		t.Errorf("bad filter: got %d %s, want 400", r.status, r.body)
	}

	r = do(t, http.MethodGet, srv.URL+"/v1/dlq/"+id, "", nil, admin)
	if r.status != 200 || fake.last() != "show payment-service/orders/3/1042" || !strings.Contains(string(r.body), `"envelope":{"eventId":"e-1"}`) {
		t.Errorf("show: %d %s; call %q", r.status, r.body, fake.last())
	}

	r = do(t, http.MethodPost, srv.URL+"/v1/dlq/"+id+"/replay", "application/json", []byte(`{"reason":"fixed","force":true}`), admin)
	if want := "replay ids=[payment-service/orders/3/1042] group= op=ops reason=fixed dry=false force=true rate=0"; r.status != 200 || fake.last() != want {
		t.Errorf("replay: %d %s; call %q, want %q", r.status, r.body, fake.last(), want)
	}
	// No body at all is fine for a replay.
	if r := do(t, http.MethodPost, srv.URL+"/v1/dlq/"+id+"/replay", "", nil, admin); r.status != 200 {
		t.Errorf("replay without body: %d %s", r.status, r.body)
	}

	r = do(t, http.MethodPost, srv.URL+"/v1/dlq/replay", "application/json",
		[]byte(`{"filter":{"group":"payment-service","limit":10},"dryRun":true,"rate":5,"reason":"r"}`), admin)
	if want := "replay ids=[] group=payment-service op=ops reason=r dry=true force=false rate=5"; r.status != 200 || fake.last() != want {
		t.Errorf("bulk: %d %s; call %q, want %q", r.status, r.body, fake.last(), want)
	}
	for body, want := range map[string]int{
		`{"ids":["a/b/0/1"],"filter":{"group":"g"}}`: 422,
		`{"filter":{"group":"g"},"rate":-1}`:         422,
		`{"filter":{"nope":"x"}}`:                    400,
		`{"filter":{"group":["x"]}}`:                 400,
		`{"filtre":{}}`:                              400,
	} {
		if r := do(t, http.MethodPost, srv.URL+"/v1/dlq/replay", "application/json", []byte(body), admin); r.status != want {
			t.Errorf("bulk %s: got %d %s, want %d", body, r.status, r.body, want)
		}
	}

	r = do(t, http.MethodPost, srv.URL+"/v1/dlq/"+id+"/discard", "application/json", []byte(`{"reason":"test order"}`), admin)
	if want := "discard payment-service/orders/3/1042 op=ops reason=test order"; r.status != 200 || fake.last() != want {
		t.Errorf("discard: %d %s; call %q", r.status, r.body, fake.last())
	}
	if r := do(t, http.MethodPost, srv.URL+"/v1/dlq/"+id+"/discard", "application/json", []byte(`{}`), admin); r.status != 422 {
		t.Errorf("discard without reason: got %d %s, want 422", r.status, r.body)
	}
}

// TestDLQErrorStatuses pins statusFor's mapping of the dlq errors.
func TestDLQErrorStatuses(t *testing.T) {
	id := url.PathEscape("g/orders/0/1")
	for _, tt := range []struct {
		err    error
		method string
		path   string
		want   int
	}{
		{dlq.ErrNotFound, http.MethodGet, "/v1/dlq/" + id, 404},
		{dlq.ErrInvalidID, http.MethodGet, "/v1/dlq/nonsense", 400},
		{dlq.ErrJobNotFound, http.MethodPost, "/v1/dlq/replay", 404},
		{dlq.ErrNoSelection, http.MethodPost, "/v1/dlq/replay", 422},
		{&dlq.LoopGuardError{LetterID: "g/orders/0/1", Replays: 3, Limit: 3}, http.MethodPost, "/v1/dlq/" + id + "/replay", 409},
		{errors.New("broker down"), http.MethodGet, "/v1/dlq/" + id, 500},
	} {
		fake := &fakeDLQ{err: tt.err}
		srv := httptest.NewServer(httpapi.New(nil, catalog.Default(), httpapi.WithoutAuth(), httpapi.WithDLQ(fake)))
		body := []byte(nil)
		ct := ""
		if tt.method == http.MethodPost {
			body, ct = []byte(`{"resume":"job-1"}`), "application/json"
			if strings.Contains(tt.path, "%2F") {
				body = []byte(`{}`)
			}
		}
		r := do(t, tt.method, srv.URL+tt.path, ct, body, nil)
		if r.status != tt.want {
			t.Errorf("%v on %s %s: got %d %s, want %d", tt.err, tt.method, tt.path, r.status, r.body, tt.want)
		}
		srv.Close()
	}
	// A bulk replay whose only errors are loop-guard refusals answers 200
	// with the refusals in the result; the operator is "anonymous".
	guard := &dlq.LoopGuardError{LetterID: "g/orders/0/1", Replays: 3, Limit: 3}
	fake := &fakeDLQ{err: errors.Join(guard), res: &dlq.ReplayResult{Refused: 1, Outcomes: []dlq.Outcome{{LetterID: "g/orders/0/1", Result: dlq.ResultRefused}}}}
	srv := httptest.NewServer(httpapi.New(nil, catalog.Default(), httpapi.WithoutAuth(), httpapi.WithDLQ(fake)))
	defer srv.Close()
	r := do(t, http.MethodPost, srv.URL+"/v1/dlq/replay", "application/json", []byte(`{"filter":{"group":"g"}}`), nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"refused":1`) || !strings.Contains(fake.last(), "op=anonymous") {
		t.Errorf("bulk with refusals: %d %s; call %q", r.status, r.body, fake.last())
	}
}
