package consumer_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// A record that breaks its topic's contract (here: a foreign source) is
// dead-lettered at once with kind "contract" and never reaches the
// handler, and — not being one of its key's own records — it does not park
// the key: the key's next record is handled at once. A replay of the
// letter finds nothing parked behind it (stale) and handles nothing.
func TestContractViolationDeadLetters(t *testing.T) {
	const group, topic = "contract-test", "events"
	addr := startBroker(t, 1, append(groupTopics(group), topic)...)
	db := sqltest.SQLite(t, consumer.Migrations(), testMigs)
	var mu sync.Mutex
	var seen []string
	h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		mu.Lock()
		seen = append(seen, m.Envelope.EventID)
		mu.Unlock()
		return effectHandler(ctx, tx, m)
	})
	r, err := consumer.New(db, newCodec(t), group, []string{topic}, h,
		consumer.WithKafkaOpts(kafkaOpts(addr)...),
		consumer.WithContracts(event.Contracts{topic: {Types: []string{testType}, Sources: []string{"test"}}}))
	if err != nil {
		t.Fatal(err)
	}
	startRunner(t, r)
	forged := bytes.Replace(envelope(t, "f-0", 0), []byte(`"source":"test"`), []byte(`"source":"mallory"`), 1)
	if bytes.Equal(forged, envelope(t, "f-0", 0)) {
		t.Fatal("test envelope has no source to forge")
	}
	prod := newProducer(t, addr)
	produce(t, prod,
		&kgo.Record{Topic: topic, Key: []byte("f"), Value: forged},
		&kgo.Record{Topic: topic, Key: []byte("f"), Value: envelope(t, "f-1", 1)}, // not held back by the letter
		&kgo.Record{Topic: topic, Key: []byte("g"), Value: envelope(t, "g-0", 0)},
	)
	waitFor(t, "both genuine records handled", func() (bool, error) {
		n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k IN ('f', 'g')`)
		return n == 2, err
	})
	var letters []*kgo.Record
	waitFor(t, "the forged record dead-lettered", func() (bool, error) {
		letters = readAll(t, addr, consumer.DeadLetterTopic(group))
		return len(letters) == 1, nil
	})
	l := letters[0]
	if k := hdr(t, l, consumer.HeaderErrorKind); k != consumer.KindContract || hdr(t, l, consumer.HeaderAttempts) != "1" ||
		hdr(t, l, consumer.HeaderErrorClass) != consumer.ClassDecode || !strings.Contains(hdr(t, l, consumer.HeaderError), `source "mallory"`) {
		t.Fatalf("letter kind %s class %s attempts %s error %q; want contract, decode, 1, naming the source", k,
			hdr(t, l, consumer.HeaderErrorClass), hdr(t, l, consumer.HeaderAttempts), hdr(t, l, consumer.HeaderError))
	}
	if ps, err := consumer.ListParked(context.Background(), db, group); err != nil || len(ps) != 0 {
		t.Fatalf("parked keys %+v, %v; want none (a contract letter parks nothing)", ps, err)
	}

	// Replayed as it is: nothing waits behind it, so the replay is stale
	// and the forged record is not handled (nor dead-lettered again).
	produce(t, prod, consumer.ReplayRecord(group, l, consumer.ActionReplay, "try again"))
	waitFor(t, "the replay applied", func() (bool, error) {
		return r.Stats().Replays["stale"] == 1, nil
	})
	if n := len(readAll(t, addr, consumer.DeadLetterTopic(group))); n != 1 {
		t.Fatalf("%d letters after the replay, want still 1", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range seen {
		if id == "f-0" {
			t.Fatal("the forged event reached the handler")
		}
	}
}
