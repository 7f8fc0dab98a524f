package consumer

import (
	"context"
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
// for a duplicate. The runner installs it inside Recover.
func Dedup(group string) Middleware {
	const q = `INSERT INTO consumer_processed (group_name, event_id, processed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`
	return func(next Handler) Handler {
		return HandlerFunc(func(ctx context.Context, tx *sqldb.Tx, m *Message) error {
			res, err := execCached(ctx, tx, q, group, m.Envelope.EventID, time.Now().UnixMilli())
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
