package saga_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// A two-step saga: start it in the caller's transaction, then feed it the
// participants' replies (in a service, a consumer.Runner on saga.replies
// with Orchestrator.Handler does this).
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "saga-example")
	defer os.RemoveAll(dir)
	db, _ := sqlite.Open(ctx, filepath.Join(dir, "orders.db"))
	defer db.Close()
	_ = db.Migrate(ctx, saga.Migrations(), outbox.Migrations())

	command := func(topic, typ string) func(context.Context, *saga.State) (saga.Command, error) {
		return func(_ context.Context, s *saga.State) (saga.Command, error) {
			return saga.Command{Topic: topic, Key: s.ID, Type: typ, Data: s.Data}, nil
		}
	}
	def := saga.Definition{Name: "order", Steps: []saga.Step{
		{Name: "payment", Timeout: 30 * time.Second,
			Action:       command(kafka.TopicCommandsPayment, "payment.process"),
			Compensation: command(kafka.TopicCommandsPayment, "payment.refund")},
		{Name: "inventory", Timeout: 30 * time.Second,
			Action:       command(kafka.TopicCommandsInventory, "inventory.reserve"),
			Compensation: command(kafka.TopicCommandsInventory, "inventory.release")},
	}}
	o, err := saga.New(db, []saga.Definition{def})
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = db.InTx(ctx, func(tx *sqldb.Tx) error {
		// ... append order.placed in tx, then:
		_, err := o.Start(ctx, tx, "order", "o-1", "corr-1", "evt-placed", map[string]any{"orderId": "o-1"})
		return err
	})

	// What a participant does with a command: reply, causationId = the
	// command's eventId. Here we read the command from the outbox.
	var value []byte
	_ = db.Read.QueryRowContext(ctx, `SELECT value FROM outbox ORDER BY id DESC LIMIT 1`).Scan(&value)
	var cmd event.Envelope
	_ = cmd.UnmarshalJSON(value)
	fmt.Println("sent:", cmd.EventType, "correlation:", cmd.Metadata.CorrelationID, "cause:", cmd.Metadata.CausationID)

	reply, _ := saga.NewReply(cmd, "payment-service", saga.OutcomeFailed, "card_declined", nil)
	_ = db.InTx(ctx, func(tx *sqldb.Tx) error {
		handled, err := o.HandleReply(ctx, tx, reply)
		fmt.Println("handled:", handled)
		return err
	})
	st, _ := o.Get(ctx, "o-1")
	fmt.Println("status:", st.Status, "reason:", st.Reason)
	// Output:
	// sent: payment.process correlation: corr-1 cause: evt-placed
	// handled: true
	// status: compensated reason: step payment failed: card_declined
}

// Wiring in a service: the relay publishes the commands, a consumer runner
// on saga.replies feeds the replies in, and Run applies step timeouts.
func ExampleOrchestrator_Handler() {
	run := func(ctx context.Context, db *sqldb.DB, o *saga.Orchestrator, relay *outbox.Relay, brokers []string) error {
		reg := event.NewRegistry()
		if err := saga.RegisterTypes(reg); err != nil {
			return err
		}
		r, err := consumer.New(db, event.NewCodec(reg), "saga-orchestrator",
			[]string{kafka.TopicSagaReplies}, o.Handler(), consumer.WithKafkaOpts(kgo.SeedBrokers(brokers...)))
		if err != nil {
			return err
		}
		go func() { _ = relay.Run(ctx) }()
		go func() { _ = o.Run(ctx) }()
		return r.Run(ctx)
	}
	_ = run
}
