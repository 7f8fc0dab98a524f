package projection

import (
	"context"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// item is one event to apply: a decoded message, or the decode error.
type item struct {
	msg       Message
	decodeErr error
	eventType string
}

// decodeRecord turns a record's value into an item.
func decodeRecord(dec Decoder, m Message, value []byte) item {
	env, err := dec.Decode(value)
	if err != nil {
		it := item{msg: m, decodeErr: err}
		var de *event.DecodeError
		if errors.As(err, &de) {
			it.eventType = de.EventType
		}
		return it
	}
	m.Envelope = env
	return item{msg: m, eventType: env.EventType}
}

// target is where a batch goes: the live tables of a projection or the
// shadow tables of a rebuild.
type target struct {
	p      Projection
	name   string // the projection's name
	cpName string // the name its checkpoints and errors are stored under
	tables Tables
	seen   string // the physical dedup table
	dedup  bool
}

func newTarget(p Projection, dedup bool, t Tables) *target {
	return &target{
		p: p, name: p.Name(), cpName: checkpointName(p.Name(), t.shadow), tables: t,
		seen: t.Name(seenTable(p.Name())), dedup: dedup,
	}
}

// applyStats counts what a batch did.
type applyStats struct {
	applied, duplicates, skipped int
}

// applyFailure reports the item of a batch whose Apply (or decode) failed;
// the transaction must then be rolled back.
type applyFailure struct {
	index int
	err   error
}

func (f *applyFailure) Error() string { return f.err.Error() }
func (f *applyFailure) Unwrap() error { return f.err }

// apply applies items in tx: a dedup insert of all their event ids, then
// Apply for each new event in order, then the checkpoint of their
// partition (when it is ≥ 0) at the last offset + 1. Malformed values are
// recorded in projection_errors and skipped. An *applyFailure names the
// first item that could not be applied (including one whose type or
// version is unknown); any other error is the database's.
func (t *target) apply(ctx context.Context, tx *sqldb.Tx, items []item) (applyStats, error) {
	var st applyStats
	if len(items) == 0 {
		return st, nil
	}
	var fresh map[string]struct{}
	firstOf := map[string]int{}
	if t.dedup {
		ids := make([]string, 0, len(items))
		for i, it := range items {
			if it.decodeErr != nil {
				continue
			}
			id := it.msg.Envelope.EventID
			if _, dup := firstOf[id]; !dup {
				firstOf[id] = i
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			var err error
			if fresh, err = insertSeen(ctx, tx, t.seen, ids); err != nil {
				return st, err
			}
		}
	}
	for i, it := range items {
		if it.decodeErr != nil {
			if errors.Is(it.decodeErr, event.ErrMalformed) {
				if err := recordError(ctx, tx, t.cpName, it.msg, it.eventType, kindDecode, actionSkipped, it.decodeErr, 1); err != nil {
					return st, err
				}
				st.skipped++
				continue
			}
			return st, &applyFailure{index: i, err: it.decodeErr}
		}
		if t.dedup {
			id := it.msg.Envelope.EventID
			if _, ok := fresh[id]; !ok || firstOf[id] != i {
				st.duplicates++
				continue
			}
		}
		if err := t.safeApply(ctx, tx, it.msg); err != nil {
			return st, &applyFailure{index: i, err: err}
		}
		st.applied++
	}
	last := items[len(items)-1].msg
	if last.Partition >= 0 {
		if err := upsertCheckpoint(ctx, tx, t.cpName, TopicPartition{last.Topic, last.Partition}, last.Offset+1); err != nil {
			return st, err
		}
	}
	return st, nil
}

// safeApply calls Apply, turning a panic into an error.
func (t *target) safeApply(ctx context.Context, tx *sqldb.Tx, m Message) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("projection %s: apply panicked: %v", t.name, p)
		}
	}()
	return t.p.Apply(ctx, tx, t.tables, m)
}
