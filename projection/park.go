package projection

import (
	"context"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// Error actions of ParkKey and of the parked events' release.
const (
	actionParked    = "parked"
	actionReplayed  = "replayed"
	actionDiscarded = "discarded"
)

func parkKey(topic string, key []byte) string { return topic + "\x00" + string(key) }

// parkedKeys returns the (topic, key) pairs with parked events of the
// projection name, as parkKey strings.
func parkedKeys(ctx context.Context, tx *sqldb.Tx, name string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT topic, rec_key FROM projection_parked WHERE projection = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("projection %s: parked keys: %w", name, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var topic string
		var key []byte
		if err := rows.Scan(&topic, &key); err != nil {
			return nil, fmt.Errorf("projection %s: parked keys: %w", name, err)
		}
		out[parkKey(topic, key)] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projection %s: parked keys: %w", name, err)
	}
	return out, nil
}

// parkItem stores it (its record as received) in projection_parked.
func parkItem(ctx context.Context, tx *sqldb.Tx, name string, it item, reason string) error {
	key := it.msg.Key
	if key == nil {
		key = []byte{}
	}
	value := it.value
	if value == nil {
		value = []byte{}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO projection_parked
		(projection, topic, part, rec_offset, rec_key, value, rec_time, event_id, reason, parked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (projection, topic, part, rec_offset) DO NOTHING`,
		name, it.msg.Topic, it.msg.Partition, it.msg.Offset, key, value, it.msg.Timestamp.UnixMilli(),
		it.msg.Envelope.EventID, truncate(reason, 2000), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("projection %s: park %s/%d@%d: %w", name, it.msg.Topic, it.msg.Partition, it.msg.Offset, err)
	}
	return nil
}

// ParkedRecord is one event of projection_parked: the first is the one
// that failed, the others wait behind it.
type ParkedRecord struct {
	Projection string
	Topic      string
	Partition  int32
	Offset     int64
	Key        []byte
	EventID    string // empty when the value could not be decoded
	Reason     string
	ParkedAt   time.Time
}

// Parked lists the parked events of the projection name, by topic, key,
// partition and offset.
func Parked(ctx context.Context, db *sqldb.DB, name string) ([]ParkedRecord, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT projection, topic, part, rec_offset, rec_key, event_id, reason, parked_at
		FROM projection_parked WHERE projection = $1 ORDER BY topic, rec_key, part, rec_offset`, name)
	if err != nil {
		return nil, fmt.Errorf("projection %s: list parked: %w", name, err)
	}
	defer rows.Close()
	var out []ParkedRecord
	for rows.Next() {
		var p ParkedRecord
		var at int64
		if err := rows.Scan(&p.Projection, &p.Topic, &p.Partition, &p.Offset, &p.Key, &p.EventID, &p.Reason, &at); err != nil {
			return nil, fmt.Errorf("projection %s: list parked: %w", name, err)
		}
		p.ParkedAt = time.UnixMilli(at).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// ReplayParked applies the parked events of topic and key, in their order,
// in one transaction, and releases them: once the cause is fixed (e.g. the
// runner's Decoder now knows the event's version). If one still fails,
// nothing is released and the error is returned. Later events of the key
// are applied directly again. It returns how many events were released.
// It may run in any process next to the live runner (the projection's
// state row serialises them).
func (r *Runner) ReplayParked(ctx context.Context, topic string, key []byte) (int, error) {
	return r.releaseParked(ctx, topic, key, true)
}

// DiscardParked drops the key's failing parked event(s) — those recorded
// in projection_errors as parked — and applies the events parked behind
// them, in order, in one transaction; later events of the key are applied
// directly again. The model misses the dropped events (rebuild it when
// that matters). It returns how many events were released (dropped and
// applied).
func (r *Runner) DiscardParked(ctx context.Context, topic string, key []byte) (int, error) {
	return r.releaseParked(ctx, topic, key, false)
}

func (r *Runner) releaseParked(ctx context.Context, topic string, key []byte, apply bool) (int, error) {
	name := r.p.Name()
	if key == nil {
		key = []byte{}
	}
	var n int
	err := r.db.InTx(ctx, func(tx *sqldb.Tx) error {
		if _, ok, err := lockState(ctx, tx, name); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("projection %s: state row missing", name)
		}
		rows, err := tx.QueryContext(ctx, `SELECT p.part, p.rec_offset, p.value, p.rec_time,
			CASE WHEN e.action IS NULL THEN 0 ELSE 1 END
			FROM projection_parked p LEFT JOIN projection_errors e
			  ON e.projection = p.projection AND e.topic = p.topic AND e.part = p.part AND e.rec_offset = p.rec_offset AND e.action = $4
			WHERE p.projection = $1 AND p.topic = $2 AND p.rec_key = $3 ORDER BY p.part, p.rec_offset`, name, topic, key, actionParked)
		if err != nil {
			return fmt.Errorf("projection %s: read parked: %w", name, err)
		}
		var items []item
		var failed []bool // failed[i]: items[i] is a failing event, not one behind it
		for rows.Next() {
			var (
				part   int32
				off, t int64
				value  []byte
				fail   int
			)
			if err := rows.Scan(&part, &off, &value, &t, &fail); err != nil {
				rows.Close()
				return fmt.Errorf("projection %s: read parked: %w", name, err)
			}
			m := Message{Topic: topic, Partition: part, Offset: off, Key: key, Timestamp: time.UnixMilli(t).UTC()}
			items = append(items, decodeRecord(r.dec, r.cfg.contracts, m, value))
			failed = append(failed, fail == 1)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("projection %s: read parked: %w", name, err)
		}
		if len(items) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM projection_parked WHERE projection = $1 AND topic = $2 AND rec_key = $3`, name, topic, key); err != nil {
			return fmt.Errorf("projection %s: release parked: %w", name, err)
		}
		action, toApply, dropped := actionReplayed, items, items[:0:0]
		if !apply {
			action, toApply = actionDiscarded, nil
			for i, it := range items {
				if failed[i] {
					dropped = append(dropped, it)
				} else {
					toApply = append(toApply, it)
				}
			}
		}
		st, err := r.live.applyItems(ctx, tx, toApply)
		if err != nil {
			return fmt.Errorf("projection %s: release parked %s/%q: %w", name, topic, key, err)
		}
		r.count(st)
		marked := items
		if !apply {
			marked = dropped
		}
		for _, it := range marked {
			if _, err := tx.ExecContext(ctx, `UPDATE projection_errors SET action = $1, last_at = $2
				WHERE projection = $3 AND topic = $4 AND part = $5 AND rec_offset = $6`,
				action, time.Now().UnixMilli(), name, topic, it.msg.Partition, it.msg.Offset); err != nil {
				return fmt.Errorf("projection %s: release parked: %w", name, err)
			}
		}
		n = len(items)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
