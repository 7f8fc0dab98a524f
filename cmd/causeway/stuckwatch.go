package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// sagaDLQWatcherGroup is the consumer group of the stuck-saga watcher.
const sagaDLQWatcherGroup = "saga-dlq-watcher"

// sagaDLQTopics are the dead-letter topics of the orchestrated
// participants, where their dead-lettered commands go.
var sagaDLQTopics = []string{
	consumer.DeadLetterTopic(payment.Group),
	consumer.DeadLetterTopic(inventory.Group),
	consumer.DeadLetterTopic(shipping.Group),
}

// stuckWatcher closes the gap between dead letters and stuck sagas under
// orchestration: it reads the participants' dead-letter topics (group
// saga-dlq-watcher, from the start) and, for every letter of a command
// (original topic commands.*) that carries the orchestrator's headers
// (causeway-saga-id, -step, -phase; a dead letter keeps the original
// headers, and needs no decodable value), marks its saga stuck with
// saga.MarkStuck in the order database — at once, instead of after the
// step timeouts. MarkStuck is idempotent and ignores letters of commands
// the saga no longer waits for, so redelivery after a crash is harmless;
// offsets are committed after the transaction.
type stuckWatcher struct {
	db    *sqldb.DB
	orch  *saga.Orchestrator
	kopts []kgo.Opt
	log   *slog.Logger
}

func newStuckWatcher(db *sqldb.DB, orch *saga.Orchestrator, kopts []kgo.Opt, instance string, log *slog.Logger) *stuckWatcher {
	opts := append(slices.Clone(kopts),
		kgo.ClientID(instance+"-"+sagaDLQWatcherGroup),
		kgo.ConsumerGroup(sagaDLQWatcherGroup),
		kgo.ConsumeTopics(sagaDLQTopics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
	)
	return &stuckWatcher{db: db, orch: orch, kopts: opts, log: log}
}

// run consumes until ctx is done.
func (w *stuckWatcher) run(ctx context.Context) {
	cl, err := kgo.NewClient(w.kopts...)
	if err != nil {
		w.log.Error("saga dead-letter watcher: kafka client", "err", err)
		return
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			cl.AllowRebalance() // or Close, leaving the group, blocks
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			w.log.Warn("saga dead-letter watcher: fetch", "topic", topic, "partition", p, "err", err)
		})
		recs := fs.Records()
		for _, r := range recs {
			for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, 5*time.Second) {
				err := w.handle(ctx, r)
				if err == nil {
					break
				}
				w.log.Error("saga dead-letter watcher: mark stuck", "topic", r.Topic, "offset", r.Offset, "err", err)
				select {
				case <-ctx.Done():
					cl.AllowRebalance()
					return
				case <-time.After(backoff):
				}
			}
		}
		if len(recs) > 0 {
			if err := cl.CommitRecords(ctx, recs...); err != nil && ctx.Err() == nil {
				w.log.Warn("saga dead-letter watcher: commit", "err", err)
			}
		}
		cl.AllowRebalance()
	}
}

// stuckTarget reads the saga, step and phase of a dead letter's command;
// ok is false for letters that are not saga commands.
func stuckTarget(r *kgo.Record) (id string, step int, phase saga.Phase, ok bool) {
	topic, _ := consumer.Header(r.Headers, consumer.HeaderTopic)
	id, hasID := consumer.Header(r.Headers, saga.HeaderSagaID)
	s, hasStep := consumer.Header(r.Headers, saga.HeaderStep)
	p, _ := consumer.Header(r.Headers, saga.HeaderPhase)
	if !strings.HasPrefix(topic, "commands.") || !hasID || id == "" || !hasStep {
		return "", 0, "", false
	}
	step, err := strconv.Atoi(s)
	if err != nil || step < 0 {
		return "", 0, "", false
	}
	phase = saga.Phase(p)
	if phase != saga.PhaseAction && phase != saga.PhaseCompensation {
		return "", 0, "", false
	}
	return id, step, phase, true
}

// handle marks the saga of dead letter r stuck; letters of anything but
// a known saga's command are skipped. Errors are retried.
func (w *stuckWatcher) handle(ctx context.Context, r *kgo.Record) error {
	id, step, phase, ok := stuckTarget(r)
	if !ok {
		return nil
	}
	group, _ := consumer.Header(r.Headers, consumer.HeaderGroup)
	kind, _ := consumer.Header(r.Headers, consumer.HeaderErrorKind)
	msg, _ := consumer.Header(r.Headers, consumer.HeaderError)
	letter, _ := consumer.Header(r.Headers, consumer.HeaderLetterID)
	reason := fmt.Sprintf("%s command dead-lettered by %s (%s, letter %s): %s", phase, group, kind, letter, msg)
	err := w.db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := w.orch.MarkStuck(ctx, tx, id, step, phase, reason)
		return err
	})
	if errors.Is(err, saga.ErrNotFound) || errors.Is(err, saga.ErrUnknownDefinition) {
		w.log.Warn("saga dead-letter watcher: letter of an unknown saga skipped", "saga", id, "letter", letter)
		return nil
	}
	return err
}
