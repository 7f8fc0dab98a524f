package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// traceFlow is the part of GET /v1/trace/{id} (and trace --output json)
// the tests read.
type traceFlow struct {
	CorrelationID string
	Events        int
	Undecodable   int
	Truncated     bool
	Roots         []*traceNode
	Timeline      []struct{ EventType string }
}

type traceNode struct {
	EventID, EventType, Source, CausationID string
	Kafka                                   *struct{ Topic string }
	InStore                                 bool
	Orphan                                  bool
	Children                                []*traceNode
}

// causes maps each event type of the flow to its cause's type ("" for a
// root) and its source; it fails on a type seen twice or an orphan.
func (f *traceFlow) causes(t *testing.T) (cause, source map[string]string) {
	t.Helper()
	cause, source = map[string]string{}, map[string]string{}
	var walk func(n *traceNode, parent string)
	walk = func(n *traceNode, parent string) {
		if _, dup := cause[n.EventType]; dup {
			t.Errorf("%s twice in the tree", n.EventType)
		}
		if n.Orphan {
			t.Errorf("%s is an orphan (cause %s)", n.EventType, n.CausationID)
		}
		cause[n.EventType], source[n.EventType] = parent, n.Source
		for _, c := range n.Children {
			if c.CausationID != n.EventID {
				t.Errorf("%s under %s but caused by %s", c.EventType, n.EventID, c.CausationID)
			}
			walk(c, n.EventType)
		}
	}
	for _, r := range f.Roots {
		walk(r, "")
	}
	return cause, source
}

// checkChain checks the success path's causation links.
func checkChain(t *testing.T, how string, f *traceFlow) {
	t.Helper()
	cause, source := f.causes(t)
	for _, l := range []struct{ typ, cause, source string }{
		{"order.placed", "", "order-service"},
		{"payment.succeeded", "order.placed", "payment-service"},
		{"order.paid", "payment.succeeded", "order-service"},
		{"stock.reserved", "payment.succeeded", "inventory-service"},
		{"shipment.created", "stock.reserved", "shipping-service"},
		{"order.shipped", "shipment.created", "order-service"},
	} {
		got, ok := cause[l.typ]
		if !ok || got != l.cause || source[l.typ] != l.source {
			t.Errorf("%s: %s caused by %q (present %v, source %q), want %q from %s", how, l.typ, got, ok, source[l.typ], l.cause, l.source)
		}
	}
	if len(f.Roots) != 1 || f.Undecodable != 0 || f.Truncated || f.Events != len(f.Timeline) || f.Timeline[0].EventType != "order.placed" {
		t.Errorf("%s: roots %d undecodable %d truncated %v events %d timeline %v", how, len(f.Roots), f.Undecodable, f.Truncated, f.Events, f.Timeline)
	}
}

// runTrace runs `causeway trace args...` and returns its stdout and error.
func runTrace(args ...string) (string, error) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"trace"}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestTraceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts causeway up (skipped under -short)")
	}
	dir := t.TempDir()
	up := startUp(t, dir)
	base := "http://" + up.rt.HTTPAddr

	var placed struct{ OrderID, CorrelationID string }
	if got := call(t, "POST", base+"/v1/orders", orderBody, nil, &placed); got != http.StatusAccepted || placed.CorrelationID == "" {
		t.Fatalf("place: got %d %+v", got, placed)
	}
	var view struct{ Status string }
	for deadline := time.Now().Add(30 * time.Second); view.Status != "shipped"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("order not shipped within 30s: %+v", view)
		}
		call(t, "GET", base+"/v1/orders/"+placed.OrderID, "", nil, &view)
	}

	// HTTP.
	var flow traceFlow
	if got := call(t, "GET", base+"/v1/trace/"+placed.CorrelationID, "", nil, &flow); got != http.StatusOK {
		t.Fatalf("GET /v1/trace: got %d", got)
	}
	if flow.CorrelationID != placed.CorrelationID {
		t.Errorf("correlationId: got %q", flow.CorrelationID)
	}
	checkChain(t, "http", &flow)
	if r := flow.Roots[0]; r.Kafka == nil || r.Kafka.Topic != "orders" || !r.InStore {
		t.Errorf("order.placed: want it from topic orders and the event store, got %+v", r)
	}
	var problem struct{ Status int }
	if got := call(t, "GET", base+"/v1/trace/no-such-flow", "", nil, &problem); got != http.StatusNotFound || problem.Status != 404 {
		t.Errorf("unknown flow: got %d", got)
	}
	if got := call(t, "GET", base+"/v1/trace/"+strings.Repeat("x", 200), "", nil, &problem); got != http.StatusBadRequest {
		t.Errorf("id of 200 bytes: got %d, want 400", got)
	}

	// CLI, JSON, reading the order service's store too.
	out, err := runTrace(placed.CorrelationID, "--brokers", up.rt.KafkaAddr, "--data-dir", dir, "--output", "json")
	if err != nil {
		t.Fatalf("trace --output json: %v", err)
	}
	var cliFlow traceFlow
	if err := json.Unmarshal([]byte(out), &cliFlow); err != nil {
		t.Fatalf("trace --output json: %v\n%s", err, out)
	}
	checkChain(t, "cli json", &cliFlow)

	// CLI, tree, Kafka only.
	out, err = runTrace(placed.CorrelationID, "--brokers", up.rt.KafkaAddr)
	if err != nil {
		t.Fatalf("trace: %v", err)
	}
	t.Logf("causeway trace:\n%s", out)
	lines := strings.Split(out, "\n")
	if len(lines) < 8 || !strings.HasPrefix(lines[1], "order.placed (order-service) ") {
		t.Fatalf("tree:\n%s", out)
	}
	for _, want := range []string{"─ payment.succeeded (payment-service) ", "─ stock.reserved (inventory-service) ",
		"─ shipment.created (shipping-service) ", "─ order.shipped (order-service) "} {
		if !strings.Contains(out, want) {
			t.Errorf("tree has no line with %q:\n%s", want, out)
		}
	}

	// Errors: no events, an impossible id, a bad flag.
	for _, args := range [][]string{
		{"no-such-flow", "--brokers", up.rt.KafkaAddr},
		{"a b", "--brokers", up.rt.KafkaAddr},
		{placed.CorrelationID, "--brokers", up.rt.KafkaAddr, "--output", "yaml"},
		{placed.CorrelationID, "--brokers", "nohost"},
		{},
	} {
		if out, err := runTrace(args...); err == nil {
			t.Errorf("trace %q: no error; output:\n%s", args, out)
		}
	}
}
