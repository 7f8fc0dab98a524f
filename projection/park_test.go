package projection_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestParkKey: under ParkKey an event of an unknown version parks its key
// — it and the key's later events wait in projection_parked, in order —
// while every other key of the same partition goes on; the checkpoint
// moves past them all. Once a runner knows the version, ReplayParked
// applies the key's events in order and the model equals the full one;
// DiscardParked of another parked key drops its events.
func TestParkKey(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t, projection.Migrations())
	b := startBroker(t, 1, testTopic) // one partition: every key shares it
	prod := newProducer(t, b.Addr(), testTopic)
	prod.produce(30, 5)

	// k2's next event has version 2, which the runner does not know yet.
	v2, err := event.New(testType, 2, countedData{K: "k2", Seq: 1000}, event.StartFlow("test"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(v2)
	prod.send(&kgo.Record{Key: []byte("k2"), Value: raw})
	before := prod.expected()
	prod.produce(30, 5) // 6 more of k2, parked behind it

	p := &counts{}
	r := newRunner(t, db, b, p, projection.WithPoisonPolicy(projection.ParkKey), projection.WithBatchMax(7))
	stop := start(t, r)
	eventually(t, "every offset checkpointed", func() bool { return reached(t, db, p.Name(), prod.position()) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	got := dump(t, db, "key_counts")
	full := prod.expected()
	for k, w := range full {
		if k == "k2" {
			if got[k] != before[k] {
				t.Errorf("parked key k2 = %+v, want it as before the bad event %+v", got[k], before[k])
			}
			continue
		}
		if got[k] != w {
			t.Errorf("key %s = %+v, want %+v (other keys must not be blocked)", k, got[k], w)
		}
	}
	parked, err := projection.Parked(ctx, db, p.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(parked) != 7 || parked[0].EventID != v2.EventID || string(parked[0].Key) != "k2" {
		t.Fatalf("parked = %d %+v, want the v2 event then k2's 6 later ones", len(parked), parked)
	}
	for i := 1; i < len(parked); i++ {
		if string(parked[i].Key) != "k2" || parked[i].Offset <= parked[i-1].Offset {
			t.Errorf("parked[%d] = %+v: not k2 in order", i, parked[i])
		}
	}
	errs, err := projection.Errors(ctx, db, p.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0].EventID != v2.EventID || errs[0].Action != "parked" || errs[0].Kind != "decode" {
		t.Errorf("errors = %+v, want the v2 event, decode, parked", errs)
	}

	// The old runner cannot replay it: nothing is released.
	if n, err := r.ReplayParked(ctx, testTopic, []byte("k2")); err == nil || n != 0 {
		t.Errorf("ReplayParked with the old codec = %d, %v; want an error", n, err)
	}
	if ps, _ := projection.Parked(ctx, db, p.Name()); len(ps) != 7 {
		t.Errorf("a failed replay released events: %d parked", len(ps))
	}

	// The fix: a codec that knows v2 (v1 upcast to it).
	reg := event.NewRegistry()
	if err := reg.Register(testType, 2, event.Upcaster{From: 1, Up: func(d json.RawMessage) (json.RawMessage, error) { return d, nil }}); err != nil {
		t.Fatal(err)
	}
	fixed, err := projection.New(db, event.NewCodec(reg), p, projection.WithPoisonPolicy(projection.ParkKey),
		projection.WithKafkaOpts(kgo.SeedBrokers(b.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	n, err := fixed.ReplayParked(ctx, testTopic, []byte("k2"))
	if err != nil || n != 7 {
		t.Fatalf("ReplayParked = %d, %v; want 7", n, err)
	}
	got = dump(t, db, "key_counts")
	w := full["k2"]
	w.N++ // the v2 event
	if g := got["k2"]; g.N != w.N || g.LastID != w.LastID || g.LastSeq != w.LastSeq {
		t.Errorf("k2 after replay = %+v, want %+v (in order: the last event last)", g, w)
	}
	if ps, _ := projection.Parked(ctx, db, p.Name()); len(ps) != 0 {
		t.Errorf("still parked after replay: %+v", ps)
	}
	errs, _ = projection.Errors(ctx, db, p.Name())
	if len(errs) != 1 || errs[0].Action != "replayed" {
		t.Errorf("errors after replay = %+v, want action replayed", errs)
	}
	// Later k2 events apply directly again.
	prod.produce(5, 5)
	stop = start(t, fixed)
	eventually(t, "caught up after the replay", func() bool { return reached(t, db, p.Name(), prod.position()) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got = dump(t, db, "key_counts")
	for k, w := range prod.expected() {
		if k == "k2" {
			w.N++
		}
		if got[k] != w {
			t.Errorf("after replay and more events: key %s = %+v, want %+v", k, got[k], w)
		}
	}
	if ps, _ := projection.Parked(ctx, db, p.Name()); len(ps) != 0 {
		t.Errorf("parked again after the replay: %+v", ps)
	}
}

// TestDiscardParked: DiscardParked drops a key's failing event, applies
// the events parked behind it, and lets its later events through.
func TestDiscardParked(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t, projection.Migrations())
	b := startBroker(t, 1, testTopic)
	prod := newProducer(t, b.Addr(), testTopic)
	prod.produce(6, 3)
	prod.send(&kgo.Record{Key: []byte("k1"), Value: []byte(`{"eventId":"x","eventType":"test.counted","version":9,"timestamp":"2026-01-01T00:00:00.000Z","data":{},"metadata":{"correlationId":"c","causationId":"c","source":"t"}}`)})
	var later int
	for _, rec := range prod.produce(6, 3) {
		if string(rec.Key) == "k1" {
			later++
		}
	}
	p := &counts{}
	r := newRunner(t, db, b, p, projection.WithPoisonPolicy(projection.ParkKey))
	stop := start(t, r)
	eventually(t, "every offset checkpointed", func() bool { return reached(t, db, p.Name(), prod.position()) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if ps, _ := projection.Parked(ctx, db, p.Name()); len(ps) != 1+later || ps[0].EventID != "x" {
		t.Fatalf("parked %d, want %d (the bad one and k1's later ones): %+v", len(ps), 1+later, ps)
	}
	if n, err := r.DiscardParked(ctx, testTopic, []byte("k1")); err != nil || n != 1+later {
		t.Fatalf("DiscardParked = %d, %v", n, err)
	}
	errs, _ := projection.Errors(ctx, db, p.Name())
	if len(errs) != 1 || errs[0].Action != "discarded" || errs[0].EventID != "x" {
		t.Errorf("errors = %+v, want x discarded", errs)
	}
	prod.produce(6, 3)
	stop = start(t, newRunner(t, db, b, p, projection.WithPoisonPolicy(projection.ParkKey)))
	eventually(t, "caught up", func() bool { return reached(t, db, p.Name(), prod.position()) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	got := dump(t, db, "key_counts")
	for k, w := range prod.expected() {
		if got[k] != w { // k1 too: only the bad event was dropped
			t.Errorf("key %s = %+v, want %+v", k, got[k], w)
		}
	}
}
