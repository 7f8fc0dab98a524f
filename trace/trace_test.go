package trace_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/trace"
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startBroker(t *testing.T) *kafka.Broker {
	t.Helper()
	b, err := kafka.StartBroker(testCtx(t), kafka.WithAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatalf("StartBroker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 123_000_000, time.UTC)

func env(id, typ, source, cause string, ms int) event.Envelope {
	return event.Envelope{EventID: id, EventType: typ, Version: 1, Timestamp: t0.Add(time.Duration(ms) * time.Millisecond),
		Data: json.RawMessage(`{"orderId":"o-1"}`), Metadata: event.Metadata{CorrelationID: "flow-1", CausationID: cause, Source: source}}
}

// record is e on topic with its CloudEvents headers (none when bare).
func record(t *testing.T, topic string, e event.Envelope, bare bool) *kgo.Record {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Topic: topic, Key: []byte("o-1"), Value: b}
	if !bare {
		for _, h := range event.CloudEventsHeaders(e, "o-1") {
			r.Headers = append(r.Headers, kgo.RecordHeader{Key: h.Key, Value: []byte(h.Value)})
		}
	}
	return r
}

type fakeStore struct {
	recs []eventstore.Record
	err  error
}

func (f fakeStore) ReadCorrelation(_ context.Context, id string) ([]eventstore.Record, error) {
	if id != "flow-1" {
		return nil, f.err
	}
	return f.recs, f.err
}

// produceFlow writes the flow of the test to b: a tree with a command
// without headers, a skewed clock, an orphan branch, a duplicate, an
// undecodable record and another flow's events.
func produceFlow(t *testing.T, b *kafka.Broker) {
	t.Helper()
	cl, err := kafka.NewClient(b.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	placed := env("A", "order.placed", "order-service", "", 0)
	recs := []*kgo.Record{
		record(t, kafka.TopicOrders, placed, false),
		record(t, kafka.TopicCommandsPayment, env("I", "payment.charge", "order-service", "A", 1), true),
		record(t, kafka.TopicSagaReplies, env("K", "saga.reply", "payment-service", "I", 1), false),
		record(t, kafka.TopicPayments, env("B", "payment.succeeded", "payment-service", "A", 8), false),
		record(t, kafka.TopicOrders, env("C", "order.paid", "order-service", "B", 13), false),
		record(t, kafka.TopicInventory, env("D", "stock.reserved", "inventory-service", "B", 14), false),
		// Stamped before its cause: the shipping service's clock is behind.
		record(t, kafka.TopicShipping, env("E", "shipment.created", "shipping-service", "D", 10), false),
		record(t, kafka.TopicOrders, env("F", "order.shipped", "order-service", "E", 30), false),
		// Its cause expired from the topics: an orphan.
		record(t, kafka.TopicPayments, env("G", "payment.refunded", "payment-service", "missing-cause", 50), false),
		record(t, kafka.TopicInventory, env("H", "stock.released", "inventory-service", "G", 55), false),
		// A redelivered duplicate of A.
		record(t, kafka.TopicOrders, placed, false),
		// Labelled with the flow but not an envelope.
		{Topic: kafka.TopicOrders, Key: []byte("o-1"), Value: []byte("{not json"),
			Headers: []kgo.RecordHeader{{Key: event.HeaderCorrelationID, Value: []byte("flow-1")}}},
	}
	other := env("X", "order.placed", "order-service", "", 2)
	other.Metadata.CorrelationID = "flow-2"
	recs = append(recs, record(t, kafka.TopicOrders, other, false))
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

const wantTree = `flow flow-1: 11 event(s) from 2026-11-25 12:00:00.123 to 12:00:01.683 UTC (1.56s)
order.placed (order-service) 12:00:00.123
├─ payment.charge (order-service) +1ms
│  └─ saga.reply (payment-service) +0ms
└─ payment.succeeded (payment-service) +8ms
   ├─ order.paid (order-service) +5ms
   └─ stock.reserved (inventory-service) +6ms
      └─ shipment.created (shipping-service) -4ms [clock skew]
         └─ order.shipped (order-service) +20ms
payment.refunded (payment-service) 12:00:00.173 [orphan: cause missing-cause not found]
├─ stock.released (inventory-service) +5ms
└─ order.cancelled (order-service) +1.51s
1 undecodable record(s) skipped
`

func TestTraceKafkaAndStore(t *testing.T) {
	b := startBroker(t)
	produceFlow(t, b)
	store := fakeStore{recs: []eventstore.Record{
		{Event: env("C", "order.paid", "order-service", "B", 13)},
		{Event: env("J", "order.cancelled", "order-service", "G", 1560)},
	}}
	tr := trace.New(b.ClientConfig(), trace.WithStore(store), trace.WithTopics(append(trace.DefaultTopics(), "no-such-topic")...))
	f, err := tr.Trace(testCtx(t), "flow-1")
	if err != nil {
		t.Fatalf("Trace: %v", err)
	}
	var sb strings.Builder
	if err := trace.WriteTree(&sb, f); err != nil {
		t.Fatal(err)
	}
	if sb.String() != wantTree {
		t.Errorf("tree:\n%s\nwant:\n%s", sb.String(), wantTree)
	}
	if f.Scanned != 13 || f.Truncated || len(f.Warnings) != 0 || f.DurationMs != 1560 || len(f.Timeline) != 11 {
		t.Errorf("flow: scanned %d truncated %v warnings %v duration %d timeline %d", f.Scanned, f.Truncated, f.Warnings, f.DurationMs, len(f.Timeline))
	}
	nodes := map[string]*trace.Node{}
	f.Walk(func(n *trace.Node, _ int) { nodes[n.EventID] = n })
	a, c, e, g, j := nodes["A"], nodes["C"], nodes["E"], nodes["G"], nodes["J"]
	if a.Kafka == nil || a.Kafka.Topic != kafka.TopicOrders || a.InStore || a.LatencyMs != nil {
		t.Errorf("A: %+v kafka %+v", a, a.Kafka)
	}
	if c.Kafka == nil || c.Kafka.Topic != kafka.TopicOrders || !c.InStore || *c.LatencyMs != 5 {
		t.Errorf("C (Kafka and store): %+v", c)
	}
	if !e.ClockSkew || *e.LatencyMs != -4 || !g.Orphan || g.LatencyMs != nil || j.Kafka != nil || !j.InStore {
		t.Errorf("E %+v, G %+v, J %+v", e, g, j)
	}
	if got := f.Timeline[4]; got.EventID != "E" || got.SinceStartMs != 10 {
		t.Errorf("timeline[3]: %+v", got)
	}

	// JSON: timestamps in the envelope's layout, the tree nested.
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Roots []struct {
			EventID, Timestamp string
			Children           []struct{ EventID string }
		}
	}
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Roots) != 2 || back.Roots[0].Timestamp != "2026-11-25T12:00:00.123Z" || len(back.Roots[0].Children) != 2 ||
		back.Roots[0].Children[1].EventID != "B" {
		t.Errorf("json: %s", raw)
	}

	// Kafka only, and capped.
	f, err = trace.New(b.ClientConfig(), trace.WithMaxEvents(3)).Trace(testCtx(t), "flow-1")
	if err != nil || !f.Truncated || f.Events != 3 {
		t.Errorf("capped: %+v, %v", f, err)
	}
	// The other flow is there, alone.
	f, err = trace.New(b.ClientConfig()).Trace(testCtx(t), "flow-2")
	if err != nil || f.Events != 1 || f.Roots[0].EventID != "X" || f.Undecodable != 0 {
		t.Errorf("flow-2: %+v, %v", f, err)
	}
	if _, err := tr.Trace(testCtx(t), "no-such-flow"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("unknown flow: got %v, want ErrNotFound", err)
	}
	for _, id := range []string{"", "a b", strings.Repeat("x", 129), "é"} {
		if _, err := tr.Trace(testCtx(t), id); !errors.Is(err, trace.ErrInvalidID) {
			t.Errorf("id %q: got %v, want ErrInvalidID", id, err)
		}
	}
}

func TestTraceStoreWhenKafkaFails(t *testing.T) {
	store := fakeStore{recs: []eventstore.Record{{Event: env("A", "order.placed", "order-service", "", 0)}}}
	ctx, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
	defer cancel()
	// Nothing listens on port 1: Kafka fails, the store answers.
	tr := trace.New(kafka.ClientConfig{Brokers: []string{"127.0.0.1:1"}}, trace.WithStore(store))
	f, err := tr.Trace(ctx, "flow-1")
	if err != nil || f.Events != 1 || len(f.Warnings) != 1 {
		t.Fatalf("got %+v, %v; want the store's event and a warning", f, err)
	}
	f, err = trace.New(kafka.ClientConfig{}, trace.WithoutKafka(), trace.WithStore(store)).Trace(testCtx(t), "flow-1")
	if err != nil || f.Events != 1 || len(f.Warnings) != 0 {
		t.Fatalf("store only: %+v, %v", f, err)
	}
	boom := errors.New("boom")
	if _, err := trace.New(kafka.ClientConfig{}, trace.WithoutKafka(), trace.WithStore(fakeStore{err: boom})).
		Trace(testCtx(t), "flow-1"); !errors.Is(err, boom) {
		t.Errorf("store error: got %v", err)
	}
}

func TestBuildCycleAndSelfCause(t *testing.T) {
	ev := func(id, cause string, ms int) trace.Event {
		return trace.FromEnvelope(env(id, "t."+id, "s", cause, ms), nil)
	}
	// P → Q → P is a cycle; S causes itself.
	f, err := trace.Build("flow-1", []trace.Event{ev("Q", "P", 5), ev("P", "Q", 1), ev("S", "S", 3), ev("R", "Q", 9)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	f.Walk(func(n *trace.Node, depth int) {
		s := strings.Repeat(".", depth) + n.EventID
		if n.Orphan {
			s += "!"
		}
		got = append(got, s)
	})
	if want := "P! .Q ..R S!"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if _, err := trace.Build("flow-1", nil); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("empty: got %v", err)
	}
}
