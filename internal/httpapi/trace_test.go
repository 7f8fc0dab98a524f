package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/trace"
)

// fakeTracer knows one flow, "c-1", of two events.
type fakeTracer struct{ calls int }

func (f *fakeTracer) Trace(_ context.Context, id string) (*trace.Flow, error) {
	f.calls++
	if id != "c-1" {
		return nil, trace.ErrNotFound
	}
	return trace.Build(id, []trace.Event{
		{EventID: "e-1", EventType: "order.placed", Version: 2, Source: "order-service", Timestamp: t0},
		{EventID: "e-2", EventType: "payment.succeeded", Version: 1, Source: "payment-service", CausationID: "e-1",
			Timestamp: t0.Add(8 * time.Millisecond)},
	})
}

func TestTraceRoute(t *testing.T) {
	ft := &fakeTracer{}
	f := newFixture(t, httpapi.WithTrace(ft))
	if got := f.api.Routes()["GET /v1/trace/{correlationId}"]; got != httpapi.Needs(httpapi.ScopeOrdersRead) {
		t.Errorf("access: got %v, want orders:read", got)
	}
	get := func(id string) (int, string, string) {
		t.Helper()
		res, err := http.Get(f.url + "/v1/trace/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	code, ctype, body := get("c-1")
	var flow struct {
		CorrelationID string
		Events        int
		DurationMs    int64
		Roots         []struct {
			EventType string
			Children  []struct {
				EventType, CausationID string
				LatencyMs              int64
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &flow); err != nil || code != http.StatusOK || ctype != "application/json" {
		t.Fatalf("GET c-1: %d %s %s (%v)", code, ctype, body, err)
	}
	if flow.CorrelationID != "c-1" || flow.Events != 2 || flow.DurationMs != 8 || len(flow.Roots) != 1 ||
		len(flow.Roots[0].Children) != 1 || flow.Roots[0].Children[0].CausationID != "e-1" || flow.Roots[0].Children[0].LatencyMs != 8 {
		t.Errorf("flow: %s", body)
	}
	calls := ft.calls
	for id, want := range map[string]int{
		"c-unknown":              http.StatusNotFound,
		url.PathEscape("a b"):    http.StatusBadRequest,
		url.PathEscape("é"):      http.StatusBadRequest,
		strings.Repeat("x", 129): http.StatusBadRequest,
		strings.Repeat("x", 300): http.StatusNotFound, // over MaxSegmentBytes: no such resource
		url.PathEscape("ok\x00"): http.StatusBadRequest,
	} {
		if code, ctype, body := get(id); code != want || ctype != "application/problem+json" {
			t.Errorf("GET %.40s: %d %s %s, want %d problem+json", id, code, ctype, body, want)
		}
	}
	if ft.calls != calls+1 {
		t.Errorf("tracer called %d times for invalid ids, want only for c-unknown", ft.calls-calls-1)
	}
}

func TestTraceRouteNeedsItsOption(t *testing.T) {
	f := newFixture(t)
	res, err := http.Get(f.url + "/v1/trace/c-1")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("without WithTrace: got %d, want 404", res.StatusCode)
	}
}
