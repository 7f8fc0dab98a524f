package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

const group = "interop-service"

// kcatPath finds kcat; without it the test skips, except under CI=true,
// where the test command must have installed it.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kcat not found under CI=true: make test installs it (apt-get install -y kcat)")
		}
		t.Skip("kcat not installed: apt-get install -y kcat (make test does this)")
	}
	return p
}

func startBroker(t *testing.T) *kafka.Broker {
	t.Helper()
	specs := append(kafka.DefaultTopics(kafka.DefaultPartitions, -1), kafka.GroupTopicSpecs(group, kafka.DefaultPartitions, -1)...)
	b, err := kafka.StartBroker(context.Background(), kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(specs...))
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func placedEnvelope(t *testing.T, orderID, userID string) event.Envelope {
	t.Helper()
	env, err := order.ToEnvelope(order.Placed{
		OrderID: orderID, UserID: userID,
		Items:      []order.Item{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 499}},
		TotalMinor: 998, Currency: "USD", PaymentMethod: "card_ok",
		ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"},
		PlacedAt:        time.Now().UTC().Truncate(time.Millisecond),
	}, event.StartFlow("order-service"))
	if err != nil {
		t.Fatalf("envelope: %v", err)
	}
	return env
}

// TestKcatConsumesRelayedEvent: an event written to the outbox and
// published by the relay is read by kcat with its key, ce_* headers and the
// exact envelope.
func TestKcatConsumesRelayedEvent(t *testing.T) {
	kcat := kcatPath(t)
	b := startBroker(t)
	db := sqltest.SQLite(t, sqlstore.Migrations(), outbox.Migrations())
	codec, err := order.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	env := placedEnvelope(t, "o-kcat-1", "u-kcat")
	value, err := codec.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	var hs []outbox.Header
	for _, h := range event.CloudEventsHeaders(env, "o-kcat-1") {
		hs = append(hs, outbox.Header(h))
	}
	ctx := context.Background()
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		return outbox.Enqueue(ctx, tx, outbox.Message{Topic: kafka.TopicOrders, Key: "u-kcat", Value: value, Headers: hs})
	}); err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	cl, err := kafka.NewClient(b.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- outbox.NewRelay(db, cl).Run(rctx) }()
	defer func() { stop(); <-done }()

	// kcat -e exits at the end of the partitions; poll until the relay's
	// record is there (bounded).
	var out []byte
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		cmd := exec.Command(kcat, "-b", b.Addr(), "-C", "-t", kafka.TopicOrders, "-o", "beginning", "-e", "-q",
			"-f", "%k\t%h\t%s\n")
		out, err = cmd.Output()
		if err != nil {
			t.Fatalf("kcat: %v", err)
		}
		if len(bytes.TrimSpace(out)) > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if got, want := len(lines), 1; got != want {
		t.Fatalf("kcat read %d records, want %d:\n%s", got, want, out)
	}
	parts := strings.SplitN(lines[0], "\t", 3)
	if len(parts) != 3 {
		t.Fatalf("kcat line %q: want key, headers, value", lines[0])
	}
	if got, want := parts[0], "u-kcat"; got != want {
		t.Errorf("key = %q, want %q", got, want)
	}
	for _, want := range []string{"ce_id=" + env.EventID, "ce_type=order.placed", "ce_specversion=1.0"} {
		if !strings.Contains(parts[1], want) {
			t.Errorf("headers %q lack %q", parts[1], want)
		}
	}
	got, err := codec.Decode([]byte(parts[2]))
	if err != nil {
		t.Fatalf("decode kcat value: %v", err)
	}
	if got.EventID != env.EventID || got.Metadata != env.Metadata || !bytes.Equal(got.Data, env.Data) {
		t.Errorf("kcat value decodes to %+v, want %+v", got, env)
	}
}

// TestConsumerHandlesKcatProduced: kcat produces keyed JSON envelopes with
// murmur2 partitioning; the consumer runtime handles the valid one on the
// partition franz-go maps its key to, and dead-letters the malformed one.
func TestConsumerHandlesKcatProduced(t *testing.T) {
	kcat := kcatPath(t)
	b := startBroker(t)
	db := sqltest.SQLite(t, consumer.Migrations(), []sqldb.Migration{{
		Component: "interop-test", Version: 1,
		SQLite:   `CREATE TABLE handled (event_id TEXT PRIMARY KEY, record_key TEXT NOT NULL, part INTEGER NOT NULL)`,
		Postgres: `CREATE TABLE handled (event_id TEXT PRIMARY KEY, record_key TEXT NOT NULL, part INTEGER NOT NULL)`,
	}})
	codec, err := order.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	env := placedEnvelope(t, "o-kcat-2", "u-kcat-2")
	value, err := codec.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	input := fmt.Sprintf("u-kcat-2:%s\nu-bad:{\"eventId\": not json\n", value)
	cmd := exec.Command(kcat, "-b", b.Addr(), "-P", "-t", kafka.TopicOrders, "-K:",
		"-X", "partitioner=murmur2_random", "-H", "ce_type=order.placed")
	cmd.Stdin = strings.NewReader(input)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat produce: %v\n%s", err, out)
	}

	h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO handled (event_id, record_key, part) VALUES ($1, $2, $3)`,
			m.Envelope.EventID, m.Key, m.Partition)
		return err
	})
	r, err := consumer.New(db, codec, group, []string{kafka.TopicOrders}, h,
		consumer.WithKafkaOpts(kgo.SeedBrokers(b.Addr())), consumer.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { stop(); <-done }()

	// The valid envelope is handled, once, on franz-go's partition for its key.
	var key string
	var part int32
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := db.Read.QueryRowContext(ctx, `SELECT record_key, part FROM handled WHERE event_id = $1`, env.EventID).Scan(&key, &part)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kcat-produced event not handled: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantPart := kgo.StickyKeyPartitioner(nil).ForTopic(kafka.TopicOrders).
		Partition(&kgo.Record{Key: []byte("u-kcat-2")}, int(kafka.DefaultPartitions))
	if key != "u-kcat-2" || int(part) != wantPart {
		t.Errorf("handled key %q on partition %d, want %q on %d (murmur2)", key, part, "u-kcat-2", wantPart)
	}

	// The malformed one is on the group's dead-letter topic, unretried.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(kafka.DeadLetterTopic(group)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var letter *kgo.Record
	for letter == nil {
		fs := cl.PollFetches(fctx)
		if fctx.Err() != nil {
			t.Fatal("no dead letter for the malformed record")
		}
		fs.EachRecord(func(rec *kgo.Record) { letter = rec })
	}
	if got, want := string(letter.Key), "u-bad"; got != want {
		t.Errorf("letter key = %q, want %q", got, want)
	}
	hdr := map[string]string{}
	for _, h := range letter.Headers {
		hdr[h.Key] = string(h.Value)
	}
	if got, want := hdr[consumer.HeaderErrorKind], consumer.KindMalformed; got != want {
		t.Errorf("letter kind = %q, want %q (headers %v)", got, want, hdr)
	}
	if got, want := hdr[consumer.HeaderAttempts], "1"; got != want {
		t.Errorf("letter attempts = %q, want %q", got, want)
	}
	var n int
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM handled`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("handled %d events, want 1", n)
	}
}
