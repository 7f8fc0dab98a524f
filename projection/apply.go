package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// item is one event to apply: a decoded message, or the decode error.
type item struct {
	msg       Message
	value     []byte // the record's value (nil for History events)
	decodeErr error
	eventType string
}

// skippable reports whether a decode error is one the runner records
// and skips at once: a malformed value, or an event that breaks its
// topic's contract (WithContracts) — neither becomes valid, and neither
// is a missing part of the model.
func skippable(err error) bool {
	return errors.Is(err, event.ErrMalformed) || errors.Is(err, event.ErrContract)
}

// decodeRecord turns a record's value into an item, checking the event
// against the contract of its topic.
func decodeRecord(dec Decoder, contracts event.Contracts, m Message, value []byte) item {
	env, err := dec.Decode(value)
	if err == nil {
		if cerr := contracts.Check(m.Topic, env); cerr != nil {
			m.Envelope = env
			return item{msg: m, value: value, decodeErr: cerr, eventType: env.EventType}
		}
	}
	if err != nil {
		// Best effort: the event id, for projection_errors and parking.
		var id struct {
			EventID string `json:"eventId"`
		}
		if json.Unmarshal(value, &id) == nil {
			m.Envelope.EventID = id.EventID
		}
		it := item{msg: m, value: value, decodeErr: err}
		var de *event.DecodeError
		if errors.As(err, &de) {
			it.eventType = de.EventType
		}
		return it
	}
	m.Envelope = env
	return item{msg: m, value: value, eventType: env.EventType}
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
	park   bool // ParkKey: events of a parked key are parked behind it
}

func newTarget(p Projection, cfg config, t Tables) *target {
	return &target{
		p: p, name: p.Name(), cpName: checkpointName(p.Name(), t.shadow), tables: t,
		seen: t.Name(seenTable(p.Name())), dedup: cfg.dedup, park: cfg.policy == ParkKey,
	}
}

// applyStats counts what a batch did.
type applyStats struct {
	applied, duplicates, skipped, parked int
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
//
// Under ParkKey an item whose topic and key have parked events is parked
// behind them (stored in projection_parked, not applied, not deduplicated).
func (t *target) apply(ctx context.Context, tx *sqldb.Tx, items []item) (applyStats, error) {
	st, err := t.applyItems(ctx, tx, items)
	if err != nil || len(items) == 0 {
		return st, err
	}
	last := items[len(items)-1].msg
	if last.Partition >= 0 {
		if err := upsertCheckpoint(ctx, tx, t.cpName, TopicPartition{last.Topic, last.Partition}, last.Offset+1); err != nil {
			return st, err
		}
	}
	return st, nil
}

// applyItems is apply without the checkpoint.
func (t *target) applyItems(ctx context.Context, tx *sqldb.Tx, items []item) (applyStats, error) {
	var st applyStats
	if len(items) == 0 {
		return st, nil
	}
	var behind []bool // behind[i]: items[i] is parked behind its key
	if t.park {
		keys, err := parkedKeys(ctx, tx, t.cpName)
		if err != nil {
			return st, err
		}
		if len(keys) > 0 {
			behind = make([]bool, len(items))
			for i, it := range items {
				behind[i] = it.msg.Partition >= 0 && keys[parkKey(it.msg.Topic, it.msg.Key)]
			}
		}
	}
	isBehind := func(i int) bool { return behind != nil && behind[i] }
	var fresh map[string]struct{}
	firstOf := map[string]int{}
	if t.dedup {
		ids := make([]string, 0, len(items))
		for i, it := range items {
			if it.decodeErr != nil || isBehind(i) {
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
		if isBehind(i) {
			if err := parkItem(ctx, tx, t.cpName, it, "behind a parked event of its key"); err != nil {
				return st, err
			}
			st.parked++
			continue
		}
		if it.decodeErr != nil {
			if skippable(it.decodeErr) {
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
