package consumer_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// A service's consumer: the handler's writes commit together with the
// processed-event row, before the offset is committed.
func Example() {
	run := func(ctx context.Context, db *sqldb.DB, codec *event.Codec) error {
		if err := db.Migrate(ctx, consumer.Migrations()); err != nil {
			return err
		}
		h := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
			_, err := consumer.Exec(ctx, tx,
				`INSERT INTO payments (order_id, event_id) VALUES ($1, $2)`, m.Key, m.Envelope.EventID)
			return err
		})
		r, err := consumer.New(db, codec, "payment-service", []string{"orders"}, h,
			consumer.WithKafkaOpts(kgo.SeedBrokers("127.0.0.1:9092")),
			consumer.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, nil))),
			consumer.WithMaxAttempts(5))
		if err != nil {
			return err
		}
		return r.Run(ctx) // until ctx is cancelled
	}
	_ = run
}

// Resolving a dead letter: the DLQ tooling reads the letter from
// dlq.<group> and produces a replay (or discard) record to replay.<group>.
func ExampleReplayRecord() {
	letter := &kgo.Record{
		Topic: consumer.DeadLetterTopic("payment-service"),
		Key:   []byte("u-42"),
		Value: []byte(`{"eventId":"…"}`),
		Headers: []kgo.RecordHeader{
			{Key: consumer.HeaderLetterID, Value: []byte(consumer.LetterID("payment-service", "orders", 3, 1207))},
		},
	}
	rec := consumer.ReplayRecord("payment-service", letter, consumer.ActionDiscard, "order cancelled by hand")
	fmt.Println(rec.Topic, string(rec.Key))
	for _, h := range rec.Headers {
		fmt.Printf("%s: %s\n", h.Key, h.Value)
	}
	// Output:
	// replay.payment-service u-42
	// causeway-dlq-letter-id: payment-service/orders/3/1207
	// causeway-action: discard
	// causeway-reason: order cancelled by hand
}
