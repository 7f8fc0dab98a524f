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
// handler; the key's later records park behind it; a replay of the letter
// is checked against the original topic again (and fails again), and a
// discard releases the parked record.
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
		&kgo.Record{Topic: topic, Key: []byte("f"), Value: envelope(t, "f-1", 1)}, // parked behind the letter
		&kgo.Record{Topic: topic, Key: []byte("g"), Value: envelope(t, "g-0", 0)},
	)
	waitFor(t, "good key handled", func() (bool, error) {
		n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'g'`)
		return n == 1, err
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

	// Replayed as it is: the contract is checked again, against the
	// original topic (the record now comes from the replay topic).
	produce(t, prod, consumer.ReplayRecord(group, l, consumer.ActionReplay, "try again"))
	waitFor(t, "the replay dead-lettered again", func() (bool, error) {
		letters = readAll(t, addr, consumer.DeadLetterTopic(group))
		return len(letters) == 2, nil
	})
	if k := hdr(t, letters[1], consumer.HeaderErrorKind); k != consumer.KindContract {
		t.Fatalf("replayed letter kind %s, want contract", k)
	}
	if n, _ := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'f'`); n != 0 {
		t.Fatalf("%d effects of key f while its letter is unresolved, want 0", n)
	}
	produce(t, prod, consumer.ReplayRecord(group, letters[1], consumer.ActionDiscard, "forged"))
	waitFor(t, "the parked record released", func() (bool, error) {
		n, err := count(db, `SELECT COUNT(*) FROM effects WHERE k = 'f'`)
		return n == 1, err
	})
	mu.Lock()
	defer mu.Unlock()
	for _, id := range seen {
		if id == "f-0" {
			t.Fatal("the forged event reached the handler")
		}
	}
}
