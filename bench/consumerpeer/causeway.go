package consumerpeer

import (
	"context"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CausewayMigrations are the consumer runtime's tables (its dedup table
// among them), applied next to Migrations.
func CausewayMigrations() []sqldb.Migration { return consumer.Migrations() }

// RunCauseway consumes with Causeway's consumer.Runner (default options:
// batches of at most 500 records per transaction, one lane per partition on
// SQLite, dedup by the runtime). The handler does the same effect as the
// other sides; an event counts as handled when its batch transaction
// commits. kafkaOpts are added to the runner's franz-go options (the tuned
// variant caps the per-partition fetch size with them).
func (h *Harness) RunCauseway(ctx context.Context, db *sqldb.DB, group string, kafkaOpts ...kgo.Opt) (Result, error) {
	work, err := NewWork(ctx, db)
	if err != nil {
		return Result{}, err
	}
	defer work.Close()
	if err := h.createTopics(ctx, consumer.DeadLetterTopic(group), consumer.ReplayTopic(group)); err != nil {
		return Result{}, fmt.Errorf("causeway: %w", err)
	}
	p := newProgress(h.Events)
	handler := consumer.HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *consumer.Message) error {
		if err := work.Effect(ctx, tx, m.Envelope); err != nil {
			return err
		}
		tx.OnCommit(func() { p.add(1) })
		return nil
	})
	r, err := consumer.New(db, h.Codec, group, []string{h.Topic}, handler,
		consumer.WithKafkaOpts(append([]kgo.Opt{
			kgo.SeedBrokers(h.Brokers...),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		}, kafkaOpts...)...))
	if err != nil {
		return Result{}, fmt.Errorf("causeway: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p.begin()
	runErr := make(chan error, 1)
	go func() { runErr <- r.Run(runCtx) }()
	werr := p.wait(ctx)
	res := p.result()
	cancel()
	if err := <-runErr; err != nil {
		werr = errors.Join(werr, err)
	}
	if werr != nil {
		return res, fmt.Errorf("causeway: %w", werr)
	}
	st := r.Stats()
	res.Duplicates = int(st.Handled) - res.Handled
	if st.Batches > 0 {
		res.MeanBatch = float64(st.Handled) / float64(st.Batches)
	}
	return res, nil
}

// CausewayTunedFetchBytes is the per-partition fetch cap of the tuned
// Causeway variant. With franz-go's default (1 MiB) the broker hands over
// thousands of records per partition in the first fetch, and the runner
// decodes a whole fetched batch before its first transaction: on a backlog
// that delays the first commit by 1–2 s here. A smaller fetch pipelines
// decoding with the transactions.
const CausewayTunedFetchBytes = 128 << 10

// createTopics creates one-partition topics (the runtime's dead-letter and
// replay topics; kfake does not auto-create).
func (h *Harness) createTopics(ctx context.Context, topics ...string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.Brokers...))
	if err != nil {
		return err
	}
	defer cl.Close()
	resps, err := kadm.NewClient(cl).CreateTopics(ctx, 1, 1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return resps.Error()
}
