package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/saga"
)

// fakeSagas holds one stuck saga "o-1"; Operate records its calls and
// answers like the orchestrator (a reason is required, retry/skip need a
// stuck saga, compensate a running one).
type fakeSagas struct {
	mu    sync.Mutex
	calls []string
	st    saga.State
}

func (f *fakeSagas) call(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeSagas) last() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return ""
	}
	return f.calls[len(f.calls)-1]
}

func (f *fakeSagas) List(_ context.Context, o saga.ListOptions) ([]*saga.State, error) {
	f.call("list status=%s limit=%d", o.Status, o.Limit)
	st := f.st
	return []*saga.State{&st}, nil
}

func (f *fakeSagas) Get(_ context.Context, id string) (*saga.State, error) {
	f.call("get %s", id)
	if id != f.st.ID {
		return nil, fmt.Errorf("%w: %s", saga.ErrNotFound, id)
	}
	st := f.st
	return &st, nil
}

func (f *fakeSagas) Counts(context.Context) (map[saga.Status]int, error) {
	return map[saga.Status]int{saga.StatusFailed: 1}, nil
}

func (f *fakeSagas) Operate(_ context.Context, a saga.Action, id, op, reason string) (*saga.State, error) {
	f.call("%s %s op=%s reason=%s", a, id, op, reason)
	switch {
	case id != f.st.ID:
		return nil, saga.ErrNotFound
	case strings.TrimSpace(reason) == "":
		return nil, saga.ErrReasonRequired
	case a == saga.ActionCompensate:
		return nil, fmt.Errorf("%w: status is failed", saga.ErrInvalidState)
	}
	st := f.st
	st.Status = saga.StatusCompensating
	return &st, nil
}

func TestSagaRoutes(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	fake := &fakeSagas{st: saga.State{ID: "o-1", Definition: "order", Status: saga.StatusFailed, Step: 1,
		Reason: "compensation of step inventory failed", CreatedAt: at, UpdatedAt: at,
		History: []saga.HistoryEntry{{At: at, Step: 1, StepName: "inventory", Phase: saga.PhaseCompensation, Event: saga.EventStuck}}}}
	srv := httptest.NewServer(httpapi.New(nil, catalog.Default(), httpapi.WithAuth(testTokens(t)), httpapi.WithSagas(fake)))
	defer srv.Close()
	admin := bearer(adminSecret)

	if r := do(t, http.MethodGet, srv.URL+"/v1/sagas?status=stuck", "", nil, bearer(readerSecret)); r.status != 403 {
		t.Errorf("reader: got %d, want 403", r.status)
	}
	if r := do(t, http.MethodPost, srv.URL+"/v1/sagas/o-1/retry", "application/json", []byte(`{"reason":"x"}`), nil); r.status != 401 {
		t.Errorf("no token: got %d, want 401", r.status)
	}
	r := do(t, http.MethodGet, srv.URL+"/v1/sagas?status=stuck&limit=5", "", nil, admin)
	if r.status != 200 || fake.last() != "list status=failed limit=5" ||
		!strings.Contains(string(r.body), `"stuck":true`) || !strings.Contains(string(r.body), `"counts":{"failed":1}`) {
		t.Errorf("list stuck: %d %s; call %q", r.status, r.body, fake.last())
	}
	for _, q := range []string{"status=bogus", "limit=0", "limit=x"} {
		if r := do(t, http.MethodGet, srv.URL+"/v1/sagas?"+q, "", nil, admin); r.status != 400 {
			t.Errorf("GET /v1/sagas?%s: got %d %s, want 400", q, r.status, r.body)
		}
	}
	r = do(t, http.MethodGet, srv.URL+"/v1/sagas/o-1", "", nil, admin)
	if r.status != 200 || !strings.Contains(string(r.body), `"stepName":"inventory"`) || !strings.Contains(string(r.body), `"event":"stuck"`) {
		t.Errorf("show: %d %s", r.status, r.body)
	}
	if r := do(t, http.MethodGet, srv.URL+"/v1/sagas/nope", "", nil, admin); r.status != 404 {
		t.Errorf("show unknown: got %d, want 404", r.status)
	}
	r = do(t, http.MethodPost, srv.URL+"/v1/sagas/o-1/retry", "application/json", []byte(`{"reason":"payment fixed"}`), admin)
	if want := "retry o-1 op=ops reason=payment fixed"; r.status != 200 || fake.last() != want || !strings.Contains(string(r.body), `"status":"compensating"`) {
		t.Errorf("retry: %d %s; call %q, want %q", r.status, r.body, fake.last(), want)
	}
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/v1/sagas/o-1/skip", `{}`, 422},
		{"/v1/sagas/o-1/compensate", `{"reason":"r"}`, 409},
		{"/v1/sagas/nope/skip", `{"reason":"r"}`, 404},
		{"/v1/sagas/o-1/rewind", `{"reason":"r"}`, 404},
		{"/v1/sagas/o-1/skip", `{"reason":1}`, 400},
	} {
		if r := do(t, http.MethodPost, srv.URL+tc.path, "application/json", []byte(tc.body), admin); r.status != tc.want {
			t.Errorf("POST %s %s: got %d %s, want %d", tc.path, tc.body, r.status, r.body, tc.want)
		}
	}
}
