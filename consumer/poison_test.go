package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// A key whose handler always fails is retried MaxAttempts times, then
// dead-lettered, while other keys go on; its later records are parked,
// and a replay (after the fix) releases them in order. A discard drops the
// letter and releases the rest.
func TestPoisonDeadLetterParkReplayDiscard(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		const group, topic, maxAttempts = "poison-test", "events", 3
		addr := startBroker(t, 3, append(groupTopics(group), topic)...)
		db := open(t, consumer.Migrations(), testMigs)
		var broken atomic.Bool
		broken.Store(true)
		var badCalls atomic.Int64
		h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
			if (m.Key == "bad" || m.Key == "worse") && broken.Load() {
				if m.Envelope.EventID == "bad-0" {
					badCalls.Add(1)
				}
				return errors.New("boom: downstream rejected")
			}
			return effectHandler(ctx, tx, m)
		})
		r, err := consumer.New(db, newCodec(t), group, []string{topic}, h,
			consumer.WithKafkaOpts(kafkaOpts(addr)...), consumer.WithMaxAttempts(maxAttempts),
			consumer.WithBackoff(time.Millisecond, 20*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		startRunner(t, r)
		prod := newProducer(t, addr)
		var recs []*kgo.Record
		for s := 0; s < 10; s++ {
			for k := 0; k < 5; k++ {
				key := fmt.Sprintf("good%d", k)
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(key), Value: envelope(t, id(key, s), s)})
			}
			if s < 3 {
				recs = append(recs, &kgo.Record{Topic: topic, Key: []byte("bad"), Value: envelope(t, id("bad", s), s)})
			}
		}
		produce(t, prod, recs...)

		waitFor(t, "good keys handled", func() (bool, error) {
			n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k LIKE 'good%'`)
			return n == 50, err
		})
		waitFor(t, "bad key parked with 2 records", func() (bool, error) {
			ps, err := consumer.ListParked(context.Background(), db, group)
			return len(ps) == 1 && ps[0].Records == 2, err
		})
		letters := readAll(t, addr, consumer.DeadLetterTopic(group))
		if len(letters) != 1 {
			t.Fatalf("dead letters = %d, want 1", len(letters))
		}
		l := letters[0]
		if got, want := badCalls.Load(), int64(maxAttempts); got != want {
			t.Errorf("handler calls for bad-0 = %d, want %d", got, want)
		}
		for k, want := range map[string]string{
			consumer.HeaderAttempts:   fmt.Sprint(maxAttempts),
			consumer.HeaderErrorKind:  consumer.KindError,
			consumer.HeaderErrorClass: consumer.ClassHandler,
			consumer.HeaderTopic:      topic,
			consumer.HeaderGroup:      group,
			consumer.HeaderError:      "boom: downstream rejected",
		} {
			if got := hdr(t, l, k); got != want {
				t.Errorf("letter header %s = %q, want %q", k, got, want)
			}
		}
		wantID := consumer.LetterID(group, topic, mustAtoi32(t, hdr(t, l, consumer.HeaderPartition)), int64(mustAtoi32(t, hdr(t, l, consumer.HeaderOffset))))
		if got := hdr(t, l, consumer.HeaderLetterID); got != wantID {
			t.Errorf("letter id = %q, want %q", got, wantID)
		}
		for _, k := range []string{consumer.HeaderFirstFailure, consumer.HeaderLastFailure} {
			if _, err := time.Parse("2006-01-02T15:04:05.000Z07:00", hdr(t, l, k)); err != nil {
				t.Errorf("header %s: %v", k, err)
			}
		}
		if string(l.Key) != "bad" || string(l.Value) != string(envelope(t, "bad-0", 0)) {
			t.Errorf("letter key/value = %q/%q, want the original record's", l.Key, l.Value)
		}
		if n, _ := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'bad'`); n != 0 {
			t.Fatalf("bad key had %d effects while parked, want 0", n)
		}
		ps, _ := consumer.ListParked(context.Background(), db, group)
		if ps[0].LetterID != wantID || ps[0].Attempts != maxAttempts {
			t.Errorf("parked key = %+v, want letter %s after %d attempts", ps[0], wantID, maxAttempts)
		}

		// Fix the handler and replay: the letter, then the parked records.
		broken.Store(false)
		produce(t, prod, consumer.ReplayRecord(group, l, consumer.ActionReplay, "fixed"))
		waitFor(t, "bad key released", func() (bool, error) {
			ps, err := consumer.ListParked(context.Background(), db, group)
			return len(ps) == 0, err
		})
		// A record after the release is handled normally.
		produce(t, prod, &kgo.Record{Topic: topic, Key: []byte("bad"), Value: envelope(t, "bad-3", 3)})
		waitFor(t, "bad key handled", func() (bool, error) {
			n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'bad'`)
			return n == 4, err
		})
		checkOrder(t, db, 0)
		// Replaying the same letter again is stale: nothing happens twice.
		produce(t, prod, consumer.ReplayRecord(group, l, consumer.ActionReplay, "again"))
		waitFor(t, "stale replay seen", func() (bool, error) { return r.Stats().Replays["stale"] == 1, nil })
		checkEffects(t, db, 54)

		// Discard: break again, dead-letter worse-0, park worse-1, discard.
		broken.Store(true)
		produce(t, prod,
			&kgo.Record{Topic: topic, Key: []byte("worse"), Value: envelope(t, "worse-0", 0)},
			&kgo.Record{Topic: topic, Key: []byte("worse"), Value: envelope(t, "worse-1", 1)})
		waitFor(t, "worse key parked", func() (bool, error) {
			ps, err := consumer.ListParked(context.Background(), db, group)
			return len(ps) == 1 && ps[0].Records == 1, err
		})
		broken.Store(false)
		letters = readAll(t, addr, consumer.DeadLetterTopic(group))
		if len(letters) != 2 {
			t.Fatalf("dead letters = %d, want 2", len(letters))
		}
		produce(t, prod, consumer.ReplayRecord(group, letters[1], consumer.ActionDiscard, "obsolete"))
		waitFor(t, "worse key released", func() (bool, error) {
			ps, err := consumer.ListParked(context.Background(), db, group)
			return len(ps) == 0, err
		})
		var seqs []int
		rows, err := db.Read.QueryContext(context.Background(), `SELECT seq FROM effect_log WHERE k = 'worse' ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s int
			_ = rows.Scan(&s)
			seqs = append(seqs, s)
		}
		rows.Close()
		if fmt.Sprint(seqs) != "[1]" {
			t.Errorf("worse key effects = %v, want [1] (worse-0 discarded)", seqs)
		}
	})
}

func mustAtoi32(t testing.TB, s string) int32 {
	t.Helper()
	var n int32
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Records that cannot be decoded go to the dead-letter topic at once
// (attempts = 1); a panicking handler is an error like any other.
func TestUndecodableAndPanicDeadLetter(t *testing.T) {
	const group, topic = "decode-test", "events"
	addr := startBroker(t, 2, append(groupTopics(group), topic)...)
	db := sqltest.SQLite(t, consumer.Migrations(), testMigs)
	h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		if m.Key == "p" {
			var m map[string]int
			m["x"] = 1 // nil map write: panics
		}
		return effectHandler(ctx, tx, m)
	})
	r, err := consumer.New(db, newCodec(t), group, []string{topic}, h,
		consumer.WithKafkaOpts(kafkaOpts(addr)...), consumer.WithMaxAttempts(2),
		consumer.WithBackoff(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	unknownVersion := `{"eventId":"e-v9","eventType":"test.happened","timestamp":"2026-11-25T18:05:37.123Z",` +
		`"version":9,"data":{"seq":0},"metadata":{"correlationId":"c","source":"t"}}`
	unknownType := `{"eventId":"e-u","eventType":"nobody.knows","timestamp":"2026-11-25T18:05:37.123Z",` +
		`"version":1,"data":{},"metadata":{"correlationId":"c","source":"t"}}`
	v1 := `{"eventId":"g-1","eventType":"test.happened","timestamp":"2026-11-25T18:05:37.123Z",` +
		`"version":1,"data":{"s":1},"metadata":{"correlationId":"c","source":"t"}}`
	prod := newProducer(t, addr)
	produce(t, prod,
		&kgo.Record{Topic: topic, Key: []byte("m"), Value: []byte(`{not json`)},
		&kgo.Record{Topic: topic, Key: []byte("v"), Value: []byte(unknownVersion)},
		&kgo.Record{Topic: topic, Key: []byte("u"), Value: []byte(unknownType)},
		&kgo.Record{Topic: topic, Key: []byte("p"), Value: envelope(t, "p-0", 0)},
		&kgo.Record{Topic: topic, Key: []byte("g"), Value: envelope(t, "g-0", 0)},
		&kgo.Record{Topic: topic, Key: []byte("g"), Value: []byte(v1)}, // upcast to seq 1
	)
	waitFor(t, "4 keys parked", func() (bool, error) {
		ps, err := consumer.ListParked(context.Background(), db, group)
		return len(ps) == 4, err
	})
	waitFor(t, "good key handled", func() (bool, error) {
		n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'g'`)
		return n == 2, err
	})
	checkOrder(t, db, 2)
	letters := readAll(t, addr, consumer.DeadLetterTopic(group))
	got := map[string][2]string{}
	for _, l := range letters {
		got[string(l.Key)] = [2]string{hdr(t, l, consumer.HeaderErrorKind), hdr(t, l, consumer.HeaderAttempts)}
	}
	want := map[string][2]string{
		"m": {consumer.KindMalformed, "1"},
		"v": {consumer.KindUnknownVersion, "1"},
		"u": {consumer.KindUnknownType, "1"},
		"p": {consumer.KindPanic, "2"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("letters (kind, attempts) by key = %v, want %v", got, want)
	}
	if st := r.Stats(); st.Failures != 2 || st.DeadLetters != 4 {
		t.Errorf("stats = %+v, want 2 failures and 4 dead letters", st)
	}
}
