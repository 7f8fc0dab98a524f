package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// sagaDLQWatcherGroup is the consumer group of the stuck-saga watcher.
const sagaDLQWatcherGroup = "saga-dlq-watcher"

// sagaDLQTopics are the dead-letter topics of the orchestrated
// participants, where their dead-lettered commands go, and that of the
// orchestrator, where its dead-lettered replies go.
var sagaDLQTopics = []string{
	consumer.DeadLetterTopic(payment.Group),
	consumer.DeadLetterTopic(inventory.Group),
	consumer.DeadLetterTopic(shipping.Group),
	consumer.DeadLetterTopic(ordersvc.OrchestratorGroup),
}

// stuckWatcher closes the gap between dead letters and stuck sagas under
// orchestration: it reads the participants' and the orchestrator's
// dead-letter topics (group saga-dlq-watcher, from the start) and marks
// sagas stuck in the order database — at once, instead of after the step
// timeouts:
//   - a letter of a command (original topic commands.*) that carries the
//     orchestrator's headers (causeway-saga-id, -step, -phase; a dead
//     letter keeps the original headers, and needs no decodable value)
//     makes its saga stuck with saga.MarkStuck: the command took no
//     effect;
//   - a letter of a reply (original topic saga.replies, dead-lettered by
//     the orchestrator's group) names the command it answers in its
//     ce_causationid header (or, failing that, in the value's
//     metadata.causationId) and makes the saga that sent it stuck with
//     saga.MarkReplyStuck: the command was handled and may have taken
//     effect, which the operator's skip and compensate account for.
//
// Both are idempotent and ignore letters of commands the saga no longer
// waits for, so redelivery after a crash is harmless; offsets are
// committed after the transaction. Letters of kind "contract" (a foreign
// source or a misrouted type: not the platform's own record) are skipped.
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

// replyTarget reads the command a dead-lettered reply answers; ok is
// false for letters that are not replies or name no command. The
// ce_causationid header is read first (it needs no decodable value); a
// letter without it falls back to metadata.causationId in the value,
// read leniently (a reply the orchestrator could not decode may still
// carry it).
func replyTarget(r *kgo.Record) (commandID string, ok bool) {
	if topic, _ := consumer.Header(r.Headers, consumer.HeaderTopic); topic != kafka.TopicSagaReplies {
		return "", false
	}
	if id, _ := consumer.Header(r.Headers, event.HeaderCausationID); id != "" {
		return id, true
	}
	var v struct {
		Metadata struct {
			CausationID string `json:"causationId"`
		} `json:"metadata"`
	}
	if json.Unmarshal(r.Value, &v) != nil || v.Metadata.CausationID == "" {
		return "", false
	}
	return v.Metadata.CausationID, true
}

// handle marks the saga of dead letter r stuck; letters of anything but
// a known saga's command or of a reply to one are skipped. Errors are
// retried.
func (w *stuckWatcher) handle(ctx context.Context, r *kgo.Record) error {
	group, _ := consumer.Header(r.Headers, consumer.HeaderGroup)
	kind, _ := consumer.Header(r.Headers, consumer.HeaderErrorKind)
	if kind == consumer.KindContract {
		// The record broke its topic's contract: it did not come from the
		// orchestrator or a participant, so it says nothing about a saga
		// (a forger must not make sagas stuck by naming their commands).
		return nil
	}
	msg, _ := consumer.Header(r.Headers, consumer.HeaderError)
	letter, _ := consumer.Header(r.Headers, consumer.HeaderLetterID)
	var mark func(tx *sqldb.Tx) error
	var target string
	if id, step, phase, ok := stuckTarget(r); ok {
		target = "saga " + id
		reason := fmt.Sprintf("%s command dead-lettered by %s (%s, letter %s): %s", phase, group, kind, letter, msg)
		mark = func(tx *sqldb.Tx) error {
			_, err := w.orch.MarkStuck(ctx, tx, id, step, phase, reason)
			return err
		}
	} else if cmd, ok := replyTarget(r); ok {
		target = "command " + cmd
		reason := fmt.Sprintf("reply dead-lettered by %s (%s, letter %s): %s; the command was handled and may have taken effect",
			group, kind, letter, msg)
		mark = func(tx *sqldb.Tx) error {
			_, err := w.orch.MarkReplyStuck(ctx, tx, cmd, reason)
			return err
		}
	} else {
		return nil
	}
	err := w.db.InTx(ctx, mark)
	if errors.Is(err, saga.ErrNotFound) || errors.Is(err, saga.ErrUnknownDefinition) {
		w.log.Warn("saga dead-letter watcher: letter of an unknown saga skipped", "target", target, "letter", letter)
		return nil
	}
	return err
}
