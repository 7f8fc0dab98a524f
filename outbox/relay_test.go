package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

type openFunc = func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB

func TestEnqueue(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		db := open(t, outbox.Migrations())
		r := outbox.NewRelay(db, nil)

		boom := errors.New("boom")
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			if err := outbox.Enqueue(ctx, tx, msg("t", "k", 0)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		if got := backlog(t, r); got != 0 {
			t.Fatalf("backlog after rollback = %d, want 0", got)
		}

		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			return outbox.Enqueue(ctx, tx, msg("t", "k", 0), outbox.Message{Key: "no topic"})
		})
		if !errors.Is(err, outbox.ErrInvalidMessage) {
			t.Fatalf("Enqueue without topic = %v, want ErrInvalidMessage", err)
		}

		// More rows than one INSERT statement holds.
		msgs := make([]outbox.Message, 1234)
		for i := range msgs {
			msgs[i] = msg("t", "k", i)
		}
		enqueue(t, db, msgs...)
		if got, want := backlog(t, r), int64(len(msgs)); got != want {
			t.Fatalf("backlog = %d, want %d", got, want)
		}
		select {
		case <-db.Notified(outbox.NotifyChannel):
		default:
			t.Fatal("commit did not notify the relay")
		}
	})
}

func TestRelayPublishesInOrderWithHeaders(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open openFunc) {
		db := open(t, outbox.Migrations())
		cluster := newCluster(t, "orders", "payments")
		addrs := cluster.ListenAddrs()

		want := map[string]int{}
		var sent []outbox.Message
		for i := range 400 {
			key := fmt.Sprintf("user-%d", i%13)
			m := msg("orders", key, want[key])
			want[key]++
			sent = append(sent, m)
		}
		// Several transactions of different sizes, then a tombstone and a
		// record without key on the second topic.
		for start := 0; start < len(sent); {
			end := min(start+1+start%37, len(sent))
			enqueue(t, db, sent[start:end]...)
			start = end
		}
		enqueue(t, db,
			outbox.Message{Topic: "payments", Key: "gone", Value: nil},
			outbox.Message{Topic: "payments", Value: []byte("keyless")})

		r := outbox.NewRelay(db, newClient(t, addrs), outbox.BatchSize(64))
		stop := runRelay(t, r)
		waitFor(t, "empty outbox", func() bool { return backlog(t, r) == 0 })
		if err := stop(); err != nil {
			t.Fatalf("Run = %v, want nil after cancel", err)
		}

		recs := consume(t, addrs, "orders", func(rs []*kgo.Record) bool { return distinct(rs) >= len(sent) })
		if dups := checkOrder(t, recs, want); dups != 0 {
			t.Errorf("%d duplicates without any failure", dups)
		}
		byValue := map[string]outbox.Message{}
		for _, m := range sent {
			byValue[string(m.Value)] = m
		}
		for _, rec := range recs {
			m := byValue[string(rec.Value)]
			if got, want := len(rec.Headers), len(m.Headers); got != want {
				t.Fatalf("record %s: %d headers, want %d", rec.Value, got, want)
			}
			for i, h := range m.Headers {
				if rec.Headers[i].Key != h.Key || string(rec.Headers[i].Value) != h.Value {
					t.Fatalf("record %s header %d = %s:%s, want %s:%s", rec.Value, i, rec.Headers[i].Key, rec.Headers[i].Value, h.Key, h.Value)
				}
			}
		}

		pay := consume(t, addrs, "payments", func(rs []*kgo.Record) bool { return len(rs) >= 2 })
		for _, rec := range pay {
			switch {
			case string(rec.Key) == "gone":
				if rec.Value != nil {
					t.Errorf("tombstone value = %q, want null", rec.Value)
				}
			case rec.Key == nil:
				if !bytes.Equal(rec.Value, []byte("keyless")) {
					t.Errorf("keyless value = %q", rec.Value)
				}
			default:
				t.Errorf("unexpected record key=%q", rec.Key)
			}
		}
		st := r.Stats()
		if got, want := st.Published, uint64(len(sent)+2); got != want {
			t.Errorf("Stats.Published = %d, want %d", got, want)
		}
		if st.MaxLatency <= 0 {
			t.Errorf("Stats.MaxLatency = %v, want > 0", st.MaxLatency)
		}
	})
}

// TestNotifyWakesRelay uses a one-hour poll, so only the commit's
// notification can wake the relay.
func TestNotifyWakesRelay(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open openFunc) {
		db := open(t, outbox.Migrations())
		cluster := newCluster(t, "orders")
		enqueue(t, db, msg("orders", "k", 0))
		// Drop the first commit's signal: the relay finds that row by its
		// first scan, and must not get a spare wake-up from it.
		select {
		case <-db.Notified(outbox.NotifyChannel):
		default:
			t.Fatal("commit did not notify")
		}
		r := outbox.NewRelay(db, newClient(t, cluster.ListenAddrs()), outbox.PollInterval(time.Hour))
		runRelay(t, r)
		waitFor(t, "first row published by the initial scan", func() bool { return r.Stats().Published == 1 })

		enqueue(t, db, msg("orders", "k", 1))
		waitFor(t, "second row published after notify", func() bool { return r.Stats().Published == 2 })
		if got := backlog(t, r); got != 0 {
			t.Fatalf("backlog = %d, want 0", got)
		}
	})
}

// TestBrokerDownThenBack starts the relay with no broker listening, waits
// until records have failed, then starts the broker: everything arrives.
func TestBrokerDownThenBack(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open openFunc) {
		db := open(t, outbox.Migrations())
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cl := newClient(t, []string{addr}, kgo.RecordDeliveryTimeout(time.Second),
			kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
			kgo.MetadataMinAge(50*time.Millisecond))
		r := outbox.NewRelay(db, cl, outbox.BatchSize(20), outbox.Backoff(10*time.Millisecond, 100*time.Millisecond))

		want := map[string]int{}
		for i := range 100 {
			key := fmt.Sprintf("k%d", i%7)
			enqueue(t, db, msg("orders", key, want[key]))
			want[key]++
		}
		runRelay(t, r)
		waitFor(t, "failed deliveries while the broker is down", func() bool { return r.Stats().Failed > 0 })
		if got := backlog(t, r); got != 100 {
			t.Fatalf("backlog with broker down = %d, want 100", got)
		}

		cluster := newClusterOn(t, port, "orders")
		waitFor(t, "empty outbox", func() bool { return backlog(t, r) == 0 })
		recs := consume(t, cluster.ListenAddrs(), "orders", func(rs []*kgo.Record) bool { return distinct(rs) >= 100 })
		checkOrder(t, recs, want)
	})
}

// TestRelayStopsWithBrokerGone: the broker dies while a batch is in flight
// (the producer, with default unbounded retries, would wait for it for
// ever); cancelling Run still stops the relay, and the rows not
// acknowledged stay in the outbox for the next start.
func TestRelayStopsWithBrokerGone(t *testing.T) {
	db := sqltest.SQLite(t, outbox.Migrations())
	port := freePort(t)
	cluster := newClusterOn(t, port, "orders")
	cl := newClient(t, cluster.ListenAddrs())
	r := outbox.NewRelay(db, cl, outbox.BatchSize(20))
	for i := range 20 {
		enqueue(t, db, msg("orders", "k", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	waitFor(t, "first rows published", func() bool { return backlog(t, r) == 0 })
	cluster.Close()
	for i := 20; i < 60; i++ {
		enqueue(t, db, msg("orders", "k", i))
	}
	waitFor(t, "a produce attempt to the dead broker", func() bool { return r.Stats().Batches >= 2 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(patience):
		t.Fatal("relay did not stop with the broker gone")
	}
	if got := backlog(t, r); got != 40 {
		t.Errorf("backlog after stop = %d, want the 40 unacknowledged rows", got)
	}
}
