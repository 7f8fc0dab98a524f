package consumer

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// ReplayTopic returns the replay topic of a consumer group:
// "replay.<group>". Every Runner of the group also consumes it.
func ReplayTopic(group string) string { return "replay." + group }

// Replay-record headers and actions.
const (
	// HeaderAction is ActionReplay or ActionDiscard.
	HeaderAction = "causeway-action"
	// HeaderReason says why (required by the tooling for discards).
	HeaderReason = "causeway-reason"
	// ActionReplay handles the letter again, then drains its key.
	ActionReplay = "replay"
	// ActionDiscard drops the letter, then drains its key.
	ActionDiscard = "discard"
)

// ReplayRecord builds the record that resolves a dead letter: letter is
// the record read from DeadLetterTopic(group), action is ActionReplay or
// ActionDiscard, reason is free text (may be empty). Produce it to
// ReplayTopic(group); its key is the letter's key, so the resolutions of
// one key are applied in order.
func ReplayRecord(group string, letter *kgo.Record, action, reason string) *kgo.Record {
	hs := make([]kgo.RecordHeader, 0, len(letter.Headers)+2)
	for _, h := range letter.Headers {
		if h.Key != HeaderAction && h.Key != HeaderReason {
			hs = append(hs, h)
		}
	}
	hs = append(hs, kgo.RecordHeader{Key: HeaderAction, Value: []byte(action)})
	if reason != "" {
		hs = append(hs, kgo.RecordHeader{Key: HeaderReason, Value: []byte(reason)})
	}
	return &kgo.Record{
		Topic:   ReplayTopic(group),
		Key:     append([]byte(nil), letter.Key...),
		Value:   append([]byte(nil), letter.Value...),
		Headers: hs,
	}
}

// stepReplay resolves the partition's replay records one at a time, in
// offset order.
func (w *worker) stepReplay() (bool, time.Duration) {
	if len(w.pending) == 0 {
		return false, 0
	}
	it := w.pending[0]
	if d := time.Until(it.notBefore); d > 0 {
		return false, d
	}
	if err := w.r.replayOne(w.ctx, it.rec); err != nil {
		w.r.log.Error("consumer: replay", "offset", it.rec.Offset, "error", err)
		it.notBefore = time.Now().Add(w.r.cfg.backoff.Delay(3))
		return true, 0
	}
	it.done = true
	return true, 0
}

// replayOne applies one replay record in one transaction:
//
//  1. lock the key's park row (FOR UPDATE on PostgreSQL); if the key is not
//     parked behind this letter, the record is stale and ignored;
//  2. for ActionReplay, handle the letter (dedup applies); if it fails
//     again, produce it again as a dead letter and stop;
//  3. drain the key's parked records in order through the handler; the
//     first that fails becomes the key's new dead letter and the rest stay
//     parked;
//  4. when all are drained, delete the park.
//
// A returned error is a database or broker failure; the record is retried.
func (r *Runner) replayOne(ctx context.Context, rec *kgo.Record) error {
	action, _ := Header(rec.Headers, HeaderAction)
	letterID, _ := Header(rec.Headers, HeaderLetterID)
	key := string(rec.Key)
	if (action != ActionReplay && action != ActionDiscard) || letterID == "" {
		r.metrics.replay("invalid")
		r.log.Warn("consumer: ignoring replay record without a valid action or letter id",
			"offset", rec.Offset, "action", action)
		return nil
	}
	orig := kgo.Record{Key: rec.Key, Value: rec.Value, Headers: originalHeaders(rec.Headers), Timestamp: rec.Timestamp}
	orig.Topic, _ = Header(rec.Headers, HeaderTopic)
	if s, ok := Header(rec.Headers, HeaderPartition); ok {
		p, _ := strconv.ParseInt(s, 10, 32)
		orig.Partition = int32(p)
	}
	if s, ok := Header(rec.Headers, HeaderOffset); ok {
		orig.Offset, _ = strconv.ParseInt(s, 10, 64)
	}
	prevAttempts := 0
	if s, ok := Header(rec.Headers, HeaderAttempts); ok {
		prevAttempts, _ = strconv.Atoi(s)
	}
	firstFail := time.Now()
	if s, ok := Header(rec.Headers, HeaderFirstFailure); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			firstFail = t
		}
	}
	var result string
	err := r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		cur, ok, err := lockPark(ctx, tx, r.group, key)
		if err != nil {
			return err
		}
		if !ok || cur != letterID {
			result = "stale"
			return nil
		}
		if action == ActionReplay {
			herr, err := r.handleRecord(ctx, tx, &orig, prevAttempts+1)
			if err != nil {
				return err
			}
			if herr != nil {
				f := failureOf(&orig, herr, prevAttempts+1, firstFail)
				id, err := r.produceLetter(ctx, f)
				if err != nil {
					return err
				}
				result = "failed"
				return updatePark(ctx, tx, r.group, id, f)
			}
		}
		rows, err := parkedRecords(ctx, tx, r.group, key)
		if err != nil {
			return err
		}
		for _, p := range rows {
			herr, err := r.handleRecord(ctx, tx, &p.rec, 1)
			if err != nil {
				return err
			}
			if err := deleteParkedRecord(ctx, tx, p.id); err != nil {
				return err
			}
			if herr != nil {
				f := failureOf(&p.rec, herr, 1, time.Now())
				id, err := r.produceLetter(ctx, f)
				if err != nil {
					return err
				}
				result = "drain-failed"
				return updatePark(ctx, tx, r.group, id, f)
			}
		}
		result = "resolved"
		return deletePark(ctx, tx, r.group, key)
	})
	if err != nil {
		return err
	}
	r.metrics.replay(result)
	r.log.Info("consumer: replay record applied", "letter", letterID, "action", action, "result", result)
	return nil
}

func failureOf(rec *kgo.Record, err error, attempts int, first time.Time) failure {
	_, class := classify(err)
	return failure{
		topic: rec.Topic, partition: rec.Partition, offset: rec.Offset,
		key: rec.Key, value: rec.Value, headers: rec.Headers, timestamp: rec.Timestamp,
		err: err, decodeErr: class == ClassDecode, attempts: attempts,
		firstFail: first, lastFail: time.Now(),
	}
}

// decode decodes a record's value read from topic and checks it against
// the topic's contract (WithContracts).
func (r *Runner) decode(topic string, value []byte) (event.Envelope, error) {
	env, err := r.dec.Decode(value)
	if err == nil {
		err = r.cfg.contracts.Check(topic, env)
	}
	return env, err
}

// wants reports whether the handler takes events of type typ
// (WithEventTypes).
func (r *Runner) wants(typ string) bool {
	if r.cfg.types == nil {
		return true
	}
	_, ok := r.cfg.types[typ]
	return ok
}

// handleRecord decodes rec and runs the handler chain on it under a
// savepoint. A decode failure is returned as the handler error.
func (r *Runner) handleRecord(ctx context.Context, tx *sqldb.Tx, rec *kgo.Record, attempt int) (herr, err error) {
	env, derr := r.decode(rec.Topic, rec.Value)
	if derr != nil {
		return derr, nil
	}
	if !r.wants(env.EventType) {
		r.metrics.skipped.Add(1)
		return nil, nil
	}
	return r.handleInSavepoint(ctx, tx, &Message{
		Envelope: env, Topic: rec.Topic, Partition: rec.Partition, Offset: rec.Offset,
		Key: string(rec.Key), Headers: rec.Headers, Timestamp: rec.Timestamp,
		Attempt: attempt, Value: rec.Value,
	})
}
