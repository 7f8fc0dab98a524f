package consumerpeer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/causeway-dev/causeway/sqldb"
)

// WatermillSaramaConfig is the Sarama configuration the Watermill side uses:
// watermill-kafka's DefaultSaramaSubscriberConfig (what its own subscriber
// benchmark uses) with the offset reset at the oldest record so the
// pre-produced topic is read, and the newest protocol version that works
// against kfake: with Sarama v1.43.3 (the one watermill-kafka v3.0.6 pins),
// V2_6_0_0 and later fail the group join with "kafka: error decoding packet:
// invalid byteslice length"; V1_0_0_0 (watermill's default) to V2_3_0_0 work.
// Auto-commit stays on (Sarama's default, every 1 s): the subscriber marks an
// offset only after the router acked the message, which it does after the
// handler's transaction committed, so this is at-least-once.
func WatermillSaramaConfig() *sarama.Config {
	c := wmkafka.DefaultSaramaSubscriberConfig()
	c.Version = sarama.V2_3_0_0
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	return c
}

// RunWatermill consumes with a Watermill router over a watermill-kafka
// (Sarama) subscriber in consumer group group; the handler runs one SQLite
// transaction per message (decode, dedup, effect) and returns nil after the
// commit, so the router acks after commit.
func (h *Harness) RunWatermill(ctx context.Context, db *sqldb.DB, group string) (Result, error) {
	work, err := NewWork(ctx, db)
	if err != nil {
		return Result{}, err
	}
	defer work.Close()
	var logger watermill.LoggerAdapter = watermill.NopLogger{}
	if h.WatermillLogger != nil {
		logger = h.WatermillLogger
	}
	sub, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{
		Brokers:               h.Brokers,
		Unmarshaler:           wmkafka.DefaultMarshaler{},
		OverwriteSaramaConfig: WatermillSaramaConfig(),
		ConsumerGroup:         group,
	}, logger)
	if err != nil {
		return Result{}, fmt.Errorf("watermill: subscriber: %w", err)
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 10 * time.Second}, logger)
	if err != nil {
		return Result{}, fmt.Errorf("watermill: router: %w", err)
	}
	p := newProgress(h.Events)
	var (
		mu   sync.Mutex
		dups int
	)
	router.AddConsumerHandler("consumerpeer", h.Topic, sub, func(msg *message.Message) error {
		var fresh bool
		err := db.InTx(msg.Context(), func(tx *sqldb.Tx) error {
			var err error
			fresh, err = h.handleOne(msg.Context(), work, tx, group, msg.Payload)
			return err
		})
		if err != nil {
			return err
		}
		if fresh {
			p.add(1)
		} else {
			mu.Lock()
			dups++
			mu.Unlock()
		}
		return nil
	})

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.begin()
	runErr := make(chan error, 1)
	go func() { runErr <- router.Run(runCtx) }()
	werr := p.wait(ctx)
	res := p.result()
	cancel()
	cerr := router.Close()
	if err := <-runErr; err != nil && !errors.Is(err, context.Canceled) {
		cerr = errors.Join(cerr, err)
	}
	if werr != nil {
		return res, fmt.Errorf("watermill: %w", errors.Join(werr, cerr))
	}
	mu.Lock()
	res.Duplicates = dups
	mu.Unlock()
	return res, nil
}
