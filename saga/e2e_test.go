package saga_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestEndToEnd runs the orchestrator the way a service will: commands go
// through the outbox relay to the embedded broker (over TCP), a fake
// participant consumes commands.* with the consumer runtime and replies
// through its own outbox, and a consumer runner on saga.replies drives
// the orchestrator through Handler.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end broker test (skipped under -short)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	// Everything below stops when ctx is cancelled; wait for it before the
	// databases and the broker close.
	var running sync.WaitGroup
	defer func() { cancel(); running.Wait() }()
	const orchGroup, partGroup = "saga-orchestrator", "fake-participant"
	topics := kafka.DefaultTopics(2, -1)
	topics = append(topics, kafka.GroupTopicSpecs(orchGroup, 2, -1)...)
	topics = append(topics, kafka.GroupTopicSpecs(partGroup, 2, -1)...)
	broker, err := kafka.StartBroker(ctx, kafka.WithAddr("127.0.0.1:0"), kafka.WithTopics(topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	kopts := []kgo.Opt{
		kgo.SeedBrokers(broker.Addr()),
		kgo.FetchMaxWait(50 * time.Millisecond),
		kgo.SessionTimeout(6 * time.Second),
		kgo.HeartbeatInterval(200 * time.Millisecond),
	}
	newRelay := func(db *sqldb.DB) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(broker.Addr()), kgo.ProducerLinger(0))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		r := outbox.NewRelay(db, cl, outbox.PollInterval(50*time.Millisecond))
		running.Go(func() { _ = r.Run(ctx) })
	}
	runGroup := func(db *sqldb.DB, codec *event.Codec, group string, topics []string, h consumer.Handler) {
		r, err := consumer.New(db, codec, group, topics, h, consumer.WithKafkaOpts(kopts...))
		if err != nil {
			t.Fatal(err)
		}
		running.Go(func() { _ = r.Run(ctx) })
	}

	// The orchestrator's service.
	odb := sqltest.SQLite(t, saga.Migrations(), outbox.Migrations(), consumer.Migrations())
	o, err := saga.New(odb, []saga.Definition{orderDef()})
	if err != nil {
		t.Fatal(err)
	}
	reg := event.NewRegistry()
	if err := saga.RegisterTypes(reg); err != nil {
		t.Fatal(err)
	}
	newRelay(odb)
	runGroup(odb, event.NewCodec(reg), orchGroup, []string{kafka.TopicSagaReplies}, o.Handler())

	// The participant: answers every command, fails shipping for keys
	// ending in "-xx", and records what it handled (dedup by the runner).
	pdb := sqltest.SQLite(t, outbox.Migrations(), consumer.Migrations(), []sqldb.Migration{{
		Component: "participant", Version: 1,
		SQLite:   `CREATE TABLE handled (command_id TEXT PRIMARY KEY, key TEXT NOT NULL, type TEXT NOT NULL)`,
		Postgres: `CREATE TABLE handled (command_id TEXT PRIMARY KEY, key TEXT NOT NULL, type TEXT NOT NULL)`,
	}})
	preg := event.NewRegistry()
	for _, typ := range []string{"payment.process", "payment.refund", "inventory.reserve", "inventory.release", "shipping.create", "shipping.cancel"} {
		if err := preg.Register(typ, 1); err != nil {
			t.Fatal(err)
		}
	}
	newRelay(pdb)
	runGroup(pdb, event.NewCodec(preg), partGroup,
		[]string{kafka.TopicCommandsPayment, kafka.TopicCommandsInventory, kafka.TopicCommandsShipping},
		consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO handled (command_id, key, type) VALUES ($1, $2, $3)`,
				m.Envelope.EventID, m.Key, m.Envelope.EventType); err != nil {
				return err
			}
			p := participant{}
			if strings.HasSuffix(m.Key, "-xx") {
				p.fail = map[string]bool{"shipping.create": true}
			}
			r, _ := p.reply(t, m.Envelope)
			msg, err := saga.ReplyMessage(kafka.TopicSagaReplies, m.Key, r)
			if err != nil {
				return err
			}
			return outbox.Enqueue(ctx, tx, msg)
		}))

	ids := []string{"o-1", "o-2", "o-3-xx", "o-4", "o-5-xx", "o-6"}
	for _, id := range ids {
		start(t, odb, o, id)
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		c, err := o.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if c[saga.StatusCompleted]+c[saga.StatusCompensated] == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sagas not finished: %v", c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, id := range ids {
		st := get(t, o, id)
		want := saga.StatusCompleted
		wantCmds := "payment.process,inventory.reserve,shipping.create"
		if strings.HasSuffix(id, "-xx") {
			want = saga.StatusCompensated
			wantCmds = "payment.process,inventory.reserve,shipping.create,inventory.release,payment.refund"
		}
		if st.Status != want {
			t.Errorf("%s = %s (%s), want %s", id, st.Status, st.Reason, want)
		}
		rows, err := pdb.Read.QueryContext(ctx, `SELECT type FROM handled WHERE key = $1 ORDER BY rowid`, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var typ string
			if err := rows.Scan(&typ); err != nil {
				t.Fatal(err)
			}
			got = append(got, typ)
		}
		rows.Close()
		if strings.Join(got, ",") != wantCmds {
			t.Errorf("%s: participant handled %v, want %s", id, got, wantCmds)
		}
	}
}
