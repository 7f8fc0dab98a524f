package dashboard_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/dashboard"
)

// The stream sends a state and an orders event at once, then again each
// interval, and ends when the dashboard is closed.
func TestStreamSendsStateAndOrdersUntilClosed(t *testing.T) {
	reg, _ := registry(t)
	d := dashboard.New(dashboard.Config{Metrics: reg})
	srv := httptest.NewServer(d.StreamHandler())
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q, want text/event-stream", ct)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	next := func() (event, data string) {
		t.Helper()
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && event != "":
				return event, data
			}
		}
		return "", ""
	}
	var events []string
	for range 4 { // two rounds
		ev, data := next()
		events = append(events, ev)
		switch ev {
		case "state":
			var st dashboard.State
			if err := json.Unmarshal([]byte(data), &st); err != nil || len(st.Topics) == 0 {
				t.Errorf("state event: %v, %d topics; want the registry's summary", err, len(st.Topics))
			}
		case "orders":
			var v struct{ Orders []dashboard.RecentOrder }
			if err := json.Unmarshal([]byte(data), &v); err != nil || v.Orders == nil {
				t.Errorf("orders event %q: %v", data, err)
			}
		}
	}
	if got := strings.Join(events, ","); got != "state,orders,state,orders" {
		t.Errorf("events %s, want state,orders twice", got)
	}
	d.Close()
	ended := make(chan error, 1)
	go func() {
		for sc.Scan() { // the rest of a round in flight, then the end
		}
		ended <- sc.Err()
	}()
	select {
	case err := <-ended:
		if err != nil {
			t.Errorf("stream after Close: %v, want a clean end", err)
		}
	case <-time.After(time.Minute): // a hang guard: the stream would run MaxStreamDuration
		t.Fatal("the stream did not end after Close")
	}
}
