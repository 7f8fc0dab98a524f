package projection_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func TestExactlyOnceAcrossRestart(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, projection.Migrations())
		b := startBroker(t, 3, testTopic)
		prod := newProducer(t, b.Addr(), testTopic)
		p := &counts{}

		recs := prod.produce(300, 17)
		// A broker-side duplicate: the same event again at a new offset.
		dup := &kgo.Record{Key: recs[5].Key, Value: recs[5].Value}
		prod.send(dup)

		stop := start(t, newRunner(t, db, b, p, projection.WithBatchMax(50)))
		eventually(t, "first 300 events", func() bool { return reached(t, db, p.Name(), prod.position()) })
		if err := stop(); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
			t.Fatalf("after first run: %s", d)
		}

		prod.produce(200, 17)
		r := newRunner(t, db, b, p, projection.WithBatchMax(50))
		start(t, r)
		eventually(t, "all 500 events", func() bool { return reached(t, db, p.Name(), prod.position()) })
		if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
			t.Fatalf("after restart: %s", d)
		}
		// Checkpoints per partition: the next offset after the last record.
		cps, err := projection.Checkpoints(context.Background(), db, p.Name())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(cps), 3; got != want {
			t.Fatalf("checkpoints for %d partitions, want %d: %v", got, want, cps)
		}
		for tp, off := range prod.position() {
			if got, want := cps[tp], off+1; got != want {
				t.Errorf("checkpoint %v = %d, want %d", tp, got, want)
			}
		}
		if st := r.Status(); st.Applied != 200 || st.Duplicates != 0 {
			t.Errorf("second run status: applied %d duplicates %d, want 200 and 0", st.Applied, st.Duplicates)
		}
	})
}

// TestCrashMidBatch kills the runner inside Apply, in the middle of a
// batch: nothing of the batch may be visible, and a new runner applies
// every event exactly once.
func TestCrashMidBatch(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, projection.Migrations())
		b := startBroker(t, 2, testTopic)
		prod := newProducer(t, b.Addr(), testTopic)
		prod.produce(400, 11)

		var calls atomic.Int64
		crashed := make(chan struct{})
		p := &counts{onApply: func(ctx context.Context, m projection.Message) error {
			if calls.Add(1) == 130 { // mid-batch: batches are 50
				close(crashed)
				<-ctx.Done() // the process "dies" here
				return ctx.Err()
			}
			return nil
		}}
		stop := start(t, newRunner(t, db, b, p, projection.WithBatchMax(50)))
		<-crashed
		_ = stop()

		// What is stored is exactly what the checkpoints say: applied
		// events = sum of next offsets (no duplicates produced here).
		cps, err := projection.Checkpoints(context.Background(), db, p.Name())
		if err != nil {
			t.Fatal(err)
		}
		var stored int64
		for _, n := range cps {
			stored += n
		}
		var applied int64
		for _, r := range dump(t, db, "key_counts") {
			applied += int64(r.N)
		}
		if applied != stored || applied == 0 || applied >= 400 {
			t.Fatalf("after the crash: %d events in the model, checkpoints cover %d (want equal, between 1 and 399)", applied, stored)
		}

		p.onApply = nil
		start(t, newRunner(t, db, b, p, projection.WithBatchMax(50)))
		eventually(t, "all events after the crash", func() bool { return reached(t, db, p.Name(), prod.position()) })
		if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
			t.Fatalf("after recovery: %s", d)
		}
	})
}

func TestPoison(t *testing.T) {
	tests := []struct {
		name       string
		policy     projection.PoisonPolicy
		wantAction string
	}{
		{"stop partition", projection.StopPartition, "stopped"},
		{"skip event", projection.SkipEvent, "skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := sqltest.SQLite(t, projection.Migrations())
			b := startBroker(t, 2, testTopic)
			prod := newProducer(t, b.Addr(), testTopic)
			recs := prod.produce(100, 7)
			bad := recs[40]
			var badEnv event.Envelope
			if err := json.Unmarshal(bad.Value, &badEnv); err != nil {
				t.Fatal(err)
			}
			// A malformed value, on the other partition.
			var healthyKey []byte
			for _, rec := range recs {
				if rec.Partition != bad.Partition {
					healthyKey = rec.Key
				}
			}
			prod.send(&kgo.Record{Key: healthyKey, Value: []byte(`{"not":"an envelope"}`)})
			prod.produce(20, 7)

			var tries atomic.Int64
			p := &counts{onApply: failOn(badEnv.EventID, &tries)}
			r := newRunner(t, db, b, p, projection.WithPoisonPolicy(tt.policy), projection.WithBatchMax(30))
			start(t, r)

			badTP := projection.TopicPartition{Topic: bad.Topic, Partition: bad.Partition}
			want := reachable(prod, badTP, tt.policy)
			eventually(t, "the healthy partitions", func() bool { return reached(t, db, p.Name(), want) })
			eventually(t, "the poison record", func() bool {
				errs, err := projection.Errors(context.Background(), db, p.Name())
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range errs {
					if e.Kind == "apply" && e.EventID == badEnv.EventID && e.Action == tt.wantAction && e.Attempts == 3 {
						n++
					}
				}
				return n == 1
			})
			if got := tries.Load(); got != 3 {
				t.Errorf("Apply tried %d times, want 3", got)
			}
			errs, _ := projection.Errors(context.Background(), db, p.Name())
			var malformed int
			for _, e := range errs {
				if e.Kind == "decode" && e.Action == "skipped" {
					malformed++
				}
			}
			if malformed != 1 {
				t.Errorf("recorded %d malformed records, want 1: %+v", malformed, errs)
			}

			got := dump(t, db, "key_counts")
			if tt.policy == projection.StopPartition {
				cps, _ := projection.Checkpoints(context.Background(), db, p.Name())
				if cps[badTP] != bad.Offset {
					t.Errorf("stopped partition's checkpoint = %d, want the poison offset %d", cps[badTP], bad.Offset)
				}
				var stopped bool
				for _, ps := range r.Status().Partitions {
					if ps.Topic == bad.Topic && ps.Partition == bad.Partition && ps.Stopped != nil {
						stopped = errors.Is(ps.Stopped, projection.ErrPoison)
					}
				}
				if !stopped {
					t.Errorf("status does not show the stopped partition: %+v", r.Status())
				}
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				if err := r.WaitFor(ctx, prod.position()); !errors.Is(err, projection.ErrStale) {
					t.Errorf("WaitFor past a stopped partition = %v, want ErrStale", err)
				}
				return
			}
			// SkipEvent: everything but the poison event.
			want2 := prod.expected()
			w := want2[string(bad.Key)]
			w.N--
			want2[string(bad.Key)] = w
			if g := got[string(bad.Key)]; g.N != w.N {
				t.Errorf("key %s count = %d, want %d (poison skipped)", bad.Key, g.N, w.N)
			}
		})
	}
}

func TestWaitFor(t *testing.T) {
	db := sqltest.SQLite(t, projection.Migrations())
	b := startBroker(t, 3, testTopic)
	prod := newProducer(t, b.Addr(), testTopic)
	r := newRunner(t, db, b, &counts{})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	prod.produce(10, 3)
	if err := r.WaitFor(ctx, prod.position()); !errors.Is(err, projection.ErrStale) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor without a runner = %v, want ErrStale and DeadlineExceeded", err)
	}

	start(t, r)
	prod.produce(50, 3)
	token := prod.position().String()
	pos, err := projection.ParseOffsets(token)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel2()
	if err := r.WaitFor(ctx2, pos); err != nil {
		t.Fatalf("WaitFor(%s) = %v", token, err)
	}
	if !reached(t, db, "counts", pos) {
		t.Fatalf("WaitFor returned before the checkpoints reached %s", token)
	}
	if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
		t.Fatal(d)
	}
}

func TestParseOffsets(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{"", false},
		{"orders:0:15", false},
		{"orders:0:15,payments:3:7", false},
		{"orders:0", true},
		{"orders:x:1", true},
		{"orders:1:-1", true},
		{":1:1", true},
	}
	for _, tt := range tests {
		o, err := projection.ParseOffsets(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseOffsets(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && o.String() != tt.in {
			t.Errorf("round trip of %q gave %q", tt.in, o.String())
		}
		if err != nil && !errors.Is(err, projection.ErrInvalid) {
			t.Errorf("ParseOffsets(%q) error %v is not ErrInvalid", tt.in, err)
		}
	}
}

// TestNewPartitions: partitions added to a topic while the runner runs are
// picked up.
func TestNewPartitions(t *testing.T) {
	db := sqltest.SQLite(t, projection.Migrations())
	b := startBroker(t, 1, testTopic)
	prod := newProducer(t, b.Addr(), testTopic)
	start(t, newRunner(t, db, b, &counts{}))
	prod.produce(20, 5)
	eventually(t, "partition 0", func() bool { return reached(t, db, "counts", prod.position()) })

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreatePartitions(context.Background(), 3, testTopic); err != nil {
		t.Fatal(err)
	}
	// Produce straight to the new partitions.
	prod2, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(testTopic), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MetadataMinAge(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer prod2.Close()
	recs := prod.produceTo(prod2, []int32{1, 2, 3}, 5)
	eventually(t, "the new partitions", func() bool { return reached(t, db, "counts", prod.position()) })
	if d := diff(dump(t, db, "key_counts"), prod.expected()); d != "[]" {
		t.Fatal(d)
	}
	_ = recs
}

func TestNewValidates(t *testing.T) {
	db := sqltest.SQLite(t, projection.Migrations())
	codec := newCodec(t)
	tests := []struct {
		name string
		p    projection.Projection
		opts []projection.Option
	}{
		{"bad name", &counts{name: "Bad-Name"}, nil},
		{"double underscore", &counts{name: "a__b"}, nil},
		{"no topics", &counts{topics: []string{}}, nil},
		{"batch", &counts{}, []projection.Option{projection.WithBatchMax(0)}},
		{"retry", &counts{}, []projection.Option{projection.WithRetry(0, time.Second, time.Second)}},
	}
	for _, tt := range tests {
		if tt.name == "no topics" {
			continue // counts falls back to its default topic
		}
		if _, err := projection.New(db, codec, tt.p, tt.opts...); !errors.Is(err, projection.ErrInvalid) {
			t.Errorf("%s: New = %v, want ErrInvalid", tt.name, err)
		}
	}
}

// TestPoisonWithOneAttempt: with WithRetry(1, …) an event that fails in
// the middle of a batch is tried once and handled by the policy with its
// error (the records before it commit), like one at the start of a batch.
func TestPoisonWithOneAttempt(t *testing.T) {
	db := sqltest.SQLite(t, projection.Migrations())
	b := startBroker(t, 1, testTopic)
	prod := newProducer(t, b.Addr(), testTopic)
	recs := prod.produce(10, 3)
	var bad event.Envelope
	if err := json.Unmarshal(recs[4].Value, &bad); err != nil {
		t.Fatal(err)
	}
	var tries atomic.Int64
	p := &counts{onApply: failOn(bad.EventID, &tries)}
	r := newRunner(t, db, b, p, projection.WithPoisonPolicy(projection.SkipEvent), projection.WithRetry(1, time.Millisecond, time.Millisecond))
	start(t, r)
	eventually(t, "all records", func() bool { return reached(t, db, p.Name(), prod.position()) })
	errs, err := projection.Errors(context.Background(), db, p.Name())
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || errs[0].EventID != bad.EventID || errs[0].Action != "skipped" || errs[0].Attempts != 1 || errs[0].Error != "cannot apply this one" {
		t.Fatalf("errors = %+v, want the poison event skipped after 1 attempt with its error", errs)
	}
	if got := tries.Load(); got != 1 {
		t.Errorf("Apply tried %d times, want 1", got)
	}
	if st := r.Status(); st.Applied != 9 || st.Skipped != 1 {
		t.Errorf("status: applied %d skipped %d, want 9 and 1", st.Applied, st.Skipped)
	}
}
