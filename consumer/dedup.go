package consumer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// Dedup makes the wrapped handler idempotent per (group, eventId): it
// inserts the pair into the consumer_processed table in the handler's
// transaction and calls the handler only when the row is new. A duplicate
// (a redelivery, a broker-side duplicate batch, a replay of an event
// already handled) is a no-op that returns nil. When the handler fails,
// the savepoint rollback removes the row again, so a retry is not mistaken
// for a duplicate. The runner installs it inside Recover for the records
// it handles one savepoint at a time (replays, and batches in safe mode);
// its fast path does the same check with one multi-row insert per batch
// transaction.
func Dedup(group string) Middleware {
	const q = `INSERT INTO consumer_processed (group_name, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *Message) error {
			res, err := tx.ExecContext(ctx, q, group, m.Envelope.EventID, time.Now().UnixMilli())
			if err != nil {
				return fmt.Errorf("consumer: dedup insert: %w", err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return fmt.Errorf("consumer: dedup rows affected: %w", err)
			}
			if n == 0 {
				return nil // already handled by this group
			}
			return next.Handle(ctx, tx, m)
		})
	}
}

// insertProcessed inserts (group, id) into consumer_processed for every id
// in one statement and returns the ids whose rows are new (the others were
// handled before). ids must not repeat. The runner's fast path uses it for
// a whole batch instead of Dedup per record.
func insertProcessed(ctx context.Context, tx *sqldb.Tx, group string, ids []string) (map[string]struct{}, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("consumer: dedup insert: %w", err)
	}
	// WHERE true: SQLite needs it to parse ON CONFLICT after INSERT … SELECT.
	q := `INSERT INTO consumer_processed (group_name, event_id, processed_at)
		SELECT $1, value, $3 FROM json_each($2) WHERE true ON CONFLICT DO NOTHING RETURNING event_id`
	if tx.Dialect == sqldb.Postgres {
		q = `INSERT INTO consumer_processed (group_name, event_id, processed_at)
		SELECT $1::text, v, $3::bigint FROM jsonb_array_elements_text($2::jsonb) AS t(v)
		ON CONFLICT DO NOTHING RETURNING event_id`
	}
	rows, err := tx.QueryContext(ctx, q, group, string(list), time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("consumer: dedup insert: %w", err)
	}
	defer rows.Close()
	fresh := make(map[string]struct{}, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("consumer: dedup insert: %w", err)
		}
		fresh[id] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consumer: dedup insert: %w", err)
	}
	return fresh, nil
}

// Processed reports whether group has handled the event eventID (its
// processed row is committed).
func Processed(ctx context.Context, db *sqldb.DB, group, eventID string) (bool, error) {
	var n int
	err := db.Read.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM consumer_processed WHERE group_name = $1 AND event_id = $2`,
		group, eventID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("consumer: read processed: %w", err)
	}
	return n > 0, nil
}
