package consumer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/sqldb"
)

// Parking keeps per-key order across a dead letter. While a key has an
// unresolved dead letter for a group (a row in consumer_parked_keys), later
// records of that key are not handled but stored in
// consumer_parked_records, in the transaction that marks them done, so the
// partition's offsets advance and the key's order is kept. Replay and
// discard (replay.go) resolve the letter and drain the parked records.

// ParkedKey is one key parked behind an unresolved dead letter.
type ParkedKey struct {
	Group string
	Key   string
	// LetterID identifies the dead letter the key waits for.
	LetterID string
	// Topic, Partition and Offset locate the dead-lettered record.
	Topic     string
	Partition int32
	Offset    int64
	// Error and ErrorKind describe its last failure; Attempts counts them.
	Error     string
	ErrorKind string
	Attempts  int
	ParkedAt  time.Time
	UpdatedAt time.Time
	// Records is how many later records of the key are parked behind it.
	Records int
}

// ListParked returns group's parked keys, ordered by key.
func ListParked(ctx context.Context, db *sqldb.DB, group string) ([]ParkedKey, error) {
	rows, err := db.Read.QueryContext(ctx, `
		SELECT k.record_key, k.letter_id, k.topic, k.rec_partition, k.rec_offset, k.error,
		       k.error_kind, k.attempts, k.parked_at, k.updated_at,
		       (SELECT COUNT(*) FROM consumer_parked_records r
		         WHERE r.group_name = k.group_name AND r.record_key = k.record_key)
		  FROM consumer_parked_keys k WHERE k.group_name = $1 ORDER BY k.record_key`, group)
	if err != nil {
		return nil, fmt.Errorf("consumer: list parked: %w", err)
	}
	defer rows.Close()
	var out []ParkedKey
	for rows.Next() {
		p := ParkedKey{Group: group}
		var parked, updated int64
		if err := rows.Scan(&p.Key, &p.LetterID, &p.Topic, &p.Partition, &p.Offset, &p.Error,
			&p.ErrorKind, &p.Attempts, &parked, &updated, &p.Records); err != nil {
			return nil, fmt.Errorf("consumer: list parked: %w", err)
		}
		p.ParkedAt, p.UpdatedAt = time.UnixMilli(parked).UTC(), time.UnixMilli(updated).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consumer: list parked: %w", err)
	}
	return out, nil
}

// parkedAmong returns which of the keys are parked for group. On PostgreSQL it
// takes a share lock on their park rows, so a drain (which locks the row
// for update) cannot run between this check and the commit of the
// transaction that parks more records behind them. It must be the batch
// transaction's first statement.
//
// On SQLite it first probes whether the group has any parked key at all
// (one index seek) and skips the key lookup when it has none, the normal
// case. The write transaction makes that exact: SQLite's single writer
// serialises it with every park and drain. On PostgreSQL the query with
// its share locks always runs.
//
// keysFn lists the keys; it is called at most once, and only when the
// key lookup runs.
func parkedAmong(ctx context.Context, tx *sqldb.Tx, group string, keysFn func() []string) (map[string]bool, error) {
	if tx.Dialect == sqldb.SQLite {
		rows, err := tx.QueryContext(ctx, `SELECT 1 FROM consumer_parked_keys WHERE group_name = $1 LIMIT 1`, group)
		if err != nil {
			return nil, fmt.Errorf("consumer: park check: %w", err)
		}
		found := rows.Next()
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, fmt.Errorf("consumer: park check: %w", err)
		}
		if !found {
			return nil, nil
		}
	}
	keys := keysFn()
	if len(keys) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(keys)
	if err != nil {
		return nil, fmt.Errorf("consumer: park check: %w", err)
	}
	q := `SELECT record_key FROM consumer_parked_keys WHERE group_name = $1
	        AND record_key IN (SELECT value FROM json_each($2))`
	if tx.Dialect == sqldb.Postgres {
		q = `SELECT record_key FROM consumer_parked_keys WHERE group_name = $1
	        AND record_key IN (SELECT jsonb_array_elements_text($2::jsonb)) FOR SHARE`
	}
	rows, err := tx.QueryContext(ctx, q, group, string(list))
	if err != nil {
		return nil, fmt.Errorf("consumer: park check: %w", err)
	}
	defer rows.Close()
	var out map[string]bool
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("consumer: park check: %w", err)
		}
		if out == nil {
			out = make(map[string]bool)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consumer: park check: %w", err)
	}
	return out, nil
}

type wireHeader struct {
	K string `json:"k"`
	V []byte `json:"v"`
}

func encodeHeaders(hs []kgo.RecordHeader) string {
	w := make([]wireHeader, len(hs))
	for i, h := range hs {
		w[i] = wireHeader{K: h.Key, V: h.Value}
	}
	b, _ := json.Marshal(w) // cannot fail: strings and byte slices
	return string(b)
}

func decodeHeaders(s string) ([]kgo.RecordHeader, error) {
	var w []wireHeader
	if err := json.Unmarshal([]byte(s), &w); err != nil {
		return nil, err
	}
	hs := make([]kgo.RecordHeader, len(w))
	for i, h := range w {
		hs[i] = kgo.RecordHeader{Key: h.K, Value: h.V}
	}
	return hs, nil
}

// parkRecord stores rec behind its key's park. Parking the same record
// again (a redelivery) is a no-op.
func parkRecord(ctx context.Context, tx *sqldb.Tx, group string, rec *kgo.Record) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO consumer_parked_records
		(group_name, record_key, topic, rec_partition, rec_offset, value, headers, record_ts, parked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
		group, string(rec.Key), rec.Topic, rec.Partition, rec.Offset, rec.Value,
		encodeHeaders(rec.Headers), rec.Timestamp.UnixMilli(), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("consumer: park record: %w", err)
	}
	return nil
}

func errText(err error) string {
	s := err.Error()
	if len(s) > maxErrorHeader {
		s = s[:maxErrorHeader]
	}
	return s
}

// insertPark parks f's key behind its dead letter.
func insertPark(ctx context.Context, tx *sqldb.Tx, group, letterID string, f failure) error {
	kind, _ := classify(f.err)
	now := time.Now().UnixMilli()
	_, err := tx.ExecContext(ctx, `INSERT INTO consumer_parked_keys
		(group_name, record_key, letter_id, topic, rec_partition, rec_offset, error, error_kind,
		 attempts, parked_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT DO NOTHING`,
		group, string(f.key), letterID, f.topic, f.partition, f.offset, errText(f.err), kind,
		f.attempts, now)
	if err != nil {
		return fmt.Errorf("consumer: park key: %w", err)
	}
	return nil
}

// updatePark moves key's park to a new dead letter (a drained record that
// failed) or records a replay that failed again.
func updatePark(ctx context.Context, tx *sqldb.Tx, group, letterID string, f failure) error {
	kind, _ := classify(f.err)
	_, err := tx.ExecContext(ctx, `UPDATE consumer_parked_keys
		SET letter_id = $3, topic = $4, rec_partition = $5, rec_offset = $6, error = $7,
		    error_kind = $8, attempts = $9, updated_at = $10
		WHERE group_name = $1 AND record_key = $2`,
		group, string(f.key), letterID, f.topic, f.partition, f.offset, errText(f.err), kind,
		f.attempts, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("consumer: update park: %w", err)
	}
	return nil
}

// lockPark returns the letter id key is parked behind, locking the row
// for update on PostgreSQL (SQLite's single writer serialises anyway).
func lockPark(ctx context.Context, tx *sqldb.Tx, group, key string) (string, bool, error) {
	q := `SELECT letter_id FROM consumer_parked_keys WHERE group_name = $1 AND record_key = $2`
	if tx.Dialect == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	var id string
	err := tx.QueryRowContext(ctx, q, group, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("consumer: lock park: %w", err)
	}
	return id, true, nil
}

func deletePark(ctx context.Context, tx *sqldb.Tx, group, key string) error {
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM consumer_parked_keys WHERE group_name = $1 AND record_key = $2`, group, key); err != nil {
		return fmt.Errorf("consumer: delete park: %w", err)
	}
	return nil
}

// parkedRecords returns key's parked records in the order they were parked
// (which is offset order per partition).
func parkedRecords(ctx context.Context, tx *sqldb.Tx, group, key string) ([]parkedRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, topic, rec_partition, rec_offset, value, headers, record_ts
		FROM consumer_parked_records WHERE group_name = $1 AND record_key = $2 ORDER BY id`, group, key)
	if err != nil {
		return nil, fmt.Errorf("consumer: read parked records: %w", err)
	}
	defer rows.Close()
	var out []parkedRow
	for rows.Next() {
		var p parkedRow
		var hs string
		var ts int64
		if err := rows.Scan(&p.id, &p.rec.Topic, &p.rec.Partition, &p.rec.Offset, &p.rec.Value, &hs, &ts); err != nil {
			return nil, fmt.Errorf("consumer: read parked records: %w", err)
		}
		if p.rec.Headers, err = decodeHeaders(hs); err != nil {
			return nil, fmt.Errorf("consumer: parked record %d headers: %w", p.id, err)
		}
		p.rec.Key = []byte(key)
		p.rec.Timestamp = time.UnixMilli(ts).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consumer: read parked records: %w", err)
	}
	return out, nil
}

type parkedRow struct {
	id  int64
	rec kgo.Record
}

func deleteParkedRecord(ctx context.Context, tx *sqldb.Tx, id int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM consumer_parked_records WHERE id = $1`, id); err != nil {
		return fmt.Errorf("consumer: delete parked record: %w", err)
	}
	return nil
}
