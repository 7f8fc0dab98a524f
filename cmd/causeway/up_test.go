package main

// The end-to-end test of `causeway up` lives in package main because a
// main package cannot be imported by an external _test package.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/twmb/franz-go/pkg/kgo"
)

// syncBuffer collects the command's logs from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// running is one in-process `causeway up`.
type running struct {
	rt   Runtime
	stop func() error
}

// startUp runs `causeway up` on dir with free ports (and extraArgs) and
// waits until it is ready.
func startUp(t *testing.T, dir string, extraArgs ...string) *running {
	t.Helper()
	logs := &syncBuffer{}
	root := newRootCmd()
	root.SetArgs(append([]string{"up", "--data-dir", dir, "--http-addr", "127.0.0.1:0", "--kafka-addr", "127.0.0.1:0"}, extraArgs...))
	root.SetErr(logs)
	root.SetOut(logs)
	return startRun(t, dir, logs, root.ExecuteContext)
}

// startRun runs run (a `causeway up` on dir logging to logs) until the
// test ends and waits until it is ready.
func startRun(t *testing.T, dir string, logs *syncBuffer, run func(context.Context) error) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			return errors.New("causeway up did not stop within a minute")
		}
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("causeway up logs:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := os.ReadFile(filepath.Join(dir, RuntimeFile))
		if err == nil {
			var rt Runtime
			if err := json.Unmarshal(b, &rt); err != nil {
				t.Fatalf("runtime file: %v", err)
			}
			r := &running{rt: rt, stop: stop}
			waitReady(t, rt.HTTPAddr)
			return r
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("causeway up exited early: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("causeway up did not write %s\n%s", RuntimeFile, logs.String())
		}
	}
}

func waitReady(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
	}
	t.Fatalf("not ready")
}

func call(t *testing.T, method, url, body string, header map[string]string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, val := range header {
		req.Header.Set(k, val)
	}
	res, err := testHTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %d %q: %v", method, url, res.StatusCode, b, err)
		}
	}
	return res.StatusCode
}

// consumeUntil reads topic orders from the start until found returns true
// for a record, and returns that record.
func consumeUntil(t *testing.T, brokerAddr string, found func(*kgo.Record) bool) *kgo.Record {
	t.Helper()
	return consumeTopicUntil(t, brokerAddr, "orders", found)
}

// consumeTopicUntil reads topic from the start until found accepts a
// record, and returns it.
func consumeTopicUntil(t *testing.T, brokerAddr, topic string, found func(*kgo.Record) bool) *kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("record not found on topic %s: %v", topic, ctx.Err())
		}
		for _, fe := range fs.Errors() {
			t.Logf("fetch error: %v", fe.Err)
		}
		var hit *kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			if hit == nil && found(r) {
				hit = r
			}
		})
		if hit != nil {
			return hit
		}
	}
}

func headers(r *kgo.Record) map[string]string {
	m := map[string]string{}
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}

const orderBody = `{"userId": "u-42", "items": [{"productId": "p-2", "quantity": 3}], "currency": "EUR",
 "shippingAddress": {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "country": "US"}}`

func TestUpEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the broker twice (skipped under -short)")
	}
	dir := t.TempDir()
	up := startUp(t, dir)
	base := "http://" + up.rt.HTTPAddr

	var placed struct{ OrderID, CorrelationID, Status, ConsistencyToken string }
	key := map[string]string{"Idempotency-Key": "e2e-1"}
	if got := call(t, "POST", base+"/v1/orders", orderBody, key, &placed); got != http.StatusAccepted {
		t.Fatalf("place: got %d", got)
	}

	rec := consumeUntil(t, up.rt.KafkaAddr, func(r *kgo.Record) bool {
		var env event.Envelope
		return json.Unmarshal(r.Value, &env) == nil && env.Metadata.CorrelationID == placed.CorrelationID && env.EventType == "order.placed"
	})
	if got := string(rec.Key); got != "u-42" {
		t.Errorf("record key: got %q, want u-42", got)
	}
	hs := headers(rec)
	for k, want := range map[string]string{"ce_type": "order.placed", "ce_source": "order-service",
		"ce_correlationid": placed.CorrelationID, "ce_subject": placed.OrderID, "ce_specversion": "1.0"} {
		if hs[k] != want {
			t.Errorf("header %s: got %q, want %q", k, hs[k], want)
		}
	}
	if !strings.HasPrefix(hs["traceparent"], "00-") {
		t.Errorf("traceparent: got %q", hs["traceparent"])
	}

	// The cancel races the saga: it is accepted unless the order already
	// shipped (409). Both are correct; what survives the restart follows.
	cancelled := true
	switch got := call(t, "POST", base+"/v1/orders/"+placed.OrderID+"/cancel", "", nil, nil); got {
	case http.StatusAccepted:
	case http.StatusConflict:
		cancelled = false
	default:
		t.Fatalf("cancel: got %d, want 202 (or 409 if the saga shipped the order first)", got)
	}
	if err := up.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RuntimeFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("runtime file left after a clean stop: %v", err)
	}

	// A row committed but never published (as after a crash) is published
	// by the next run.
	enqueueOrphan(t, filepath.Join(dir, "order.db"))

	up = startUp(t, dir)
	base = "http://" + up.rt.HTTPAddr
	var view struct {
		Status, CancellationReason, Currency string
		TotalMinor                           int64
		Timeline                             []struct{ EventType string }
	}
	if got := call(t, "GET", base+"/v1/orders/"+placed.OrderID, "", nil, &view); got != http.StatusOK {
		t.Fatalf("get after restart: got %d", got)
	}
	// The saga runs too: with the cancel accepted, the order may have been
	// paid and reserved before it, never shipped; with it refused, the order
	// shipped.
	n := len(view.Timeline)
	wantStatus, wantReason, lastEvent := "shipped", "", "order.shipped"
	if cancelled {
		wantStatus, wantReason, lastEvent = "cancelled", "customer_cancelled", "order.cancelled"
	}
	if view.Status != wantStatus || view.CancellationReason != wantReason || view.Currency != "EUR" ||
		view.TotalMinor != 3*(749*92/100) || n < 2 || n > 4 ||
		view.Timeline[0].EventType != "order.placed" || view.Timeline[n-1].EventType != lastEvent {
		t.Errorf("after restart: got %+v, want status %s", view, wantStatus)
	}
	var replay struct{ OrderID, CorrelationID string }
	if got := call(t, "POST", base+"/v1/orders", orderBody, key, &replay); got != http.StatusAccepted || replay.OrderID != placed.OrderID {
		t.Errorf("idempotent replay after restart: got %d %+v, want 202 for order %s", got, replay, placed.OrderID)
	}
	// The broker kept the records, and the orphan row went out.
	consumeUntil(t, up.rt.KafkaAddr, func(r *kgo.Record) bool {
		var env event.Envelope
		return json.Unmarshal(r.Value, &env) == nil && env.Metadata.CorrelationID == placed.CorrelationID && env.EventType == lastEvent
	})
	consumeUntil(t, up.rt.KafkaAddr, func(r *kgo.Record) bool { return string(r.Key) == "u-orphan" })
}

func enqueueOrphan(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db := openSQLite(t, path)
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		return outbox.Enqueue(ctx, tx, outbox.Message{Topic: "orders", Key: "u-orphan", Value: []byte(`{}`)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpConfigValidate(t *testing.T) {
	ok := DefaultUpConfig()
	tests := []struct {
		name   string
		mutate func(*UpConfig)
		want   []string // substrings of the error; nil for valid
	}{
		{"defaults", func(*UpConfig) {}, nil},
		{"orchestration", func(c *UpConfig) { c.Saga = SagaOrchestration }, nil},
		{"bad saga", func(c *UpConfig) { c.Saga = "chaos" }, []string{"--saga"}},
		{"everything wrong", func(c *UpConfig) {
			c.DataDir, c.HTTPAddr, c.KafkaAddr, c.ShutdownTimeout, c.SMTPAddr = "", "nope", "9092", 0, "mail"
		}, []string{"--data-dir", "--http-addr", "--kafka-addr", "--shutdown-timeout", "--smtp-addr"}},
		{"smtp", func(c *UpConfig) { c.SMTPAddr = "127.0.0.1:25" }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mutate(&c)
			err := c.Validate()
			if (err == nil) != (tt.want == nil) {
				t.Fatalf("got %v, want errors %v", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestUpRejectsBadFlags(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"up", "--data-dir", t.TempDir(), "--saga", "chaos"})
	root.SetErr(io.Discard)
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--saga") {
		t.Fatalf("got %v, want a --saga error", err)
	}
}

// testHTTP is the tests' HTTP client: a server that stops answering fails
// the test within a minute instead of hanging it until the suite's timeout.
var testHTTP = &http.Client{Timeout: time.Minute}
