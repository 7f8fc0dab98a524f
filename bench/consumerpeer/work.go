package consumerpeer

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// Migrations create the tables the handler work touches: the dedup table the
// peer sides use (Causeway's runtime brings its own), the state table and
// the outbox-like table.
var Migrations = []sqldb.Migration{{
	Component: "consumerpeer",
	Version:   1,
	SQLite: `
CREATE TABLE peer_processed (
	group_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	processed_at TEXT NOT NULL,
	PRIMARY KEY (group_id, event_id)
);
CREATE TABLE order_state (
	order_id TEXT PRIMARY KEY,
	status TEXT NOT NULL,
	total_cents INTEGER NOT NULL,
	last_event_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	events INTEGER NOT NULL,
	out_of_order INTEGER NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE outbox_rows (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	topic TEXT NOT NULL,
	msg_key TEXT NOT NULL,
	event_id TEXT NOT NULL,
	payload BLOB NOT NULL,
	created_at TEXT NOT NULL
);`,
}}

// OpenDB opens a fresh SQLite file in dir with Causeway's sqlite.Open
// tuning and applies Migrations plus extra.
func OpenDB(ctx context.Context, dir, name string, extra ...[]sqldb.Migration) (*sqldb.DB, error) {
	db, err := sqlite.Open(ctx, filepath.Join(dir, name+".db"))
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx, append([][]sqldb.Migration{Migrations}, extra...)...); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// Dedup inserts (group, eventID) into the peer dedup table and reports
// whether it was new; false means a duplicate to skip.
func Dedup(ctx context.Context, tx *sqldb.Tx, group, eventID string) (bool, error) {
	res, err := tx.ExecContext(ctx,
		`INSERT INTO peer_processed (group_id, event_id, processed_at) VALUES ($1, $2, $3)
		 ON CONFLICT (group_id, event_id) DO NOTHING`,
		group, eventID, time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return false, fmt.Errorf("dedup: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("dedup: %w", err)
	}
	return n == 1, nil
}

// Effect is the handler's work on one decoded event, the same on every
// side: a state upsert keyed by order id (which also counts per-key order
// violations) and an outbox-like row carrying a caused event.
func Effect(ctx context.Context, tx *sqldb.Tx, env event.Envelope) error {
	var d OrderPlaced
	if err := env.UnmarshalData(&d); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := tx.ExecContext(ctx, `
INSERT INTO order_state (order_id, status, total_cents, last_event_id, seq, events, out_of_order, updated_at)
VALUES ($1, 'placed', $2, $3, $4, 1, $4 <> 1, $5)
ON CONFLICT (order_id) DO UPDATE SET
	status = excluded.status,
	total_cents = excluded.total_cents,
	last_event_id = excluded.last_event_id,
	out_of_order = order_state.out_of_order + (excluded.seq <> order_state.seq + 1),
	seq = excluded.seq,
	events = order_state.events + 1,
	updated_at = excluded.updated_at`,
		d.OrderID, d.Total, env.EventID, d.Seq, now); err != nil {
		return fmt.Errorf("state upsert: %w", err)
	}
	out, err := event.New("order.accepted", 1, struct {
		OrderID string `json:"orderId"`
		Seq     int    `json:"seq"`
		Total   int64  `json:"totalCents"`
	}{d.OrderID, d.Seq, d.Total}, event.CausedBy(env, "bench-service"))
	if err != nil {
		return err
	}
	payload, err := json.Marshal(out)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT INTO outbox_rows (topic, msg_key, event_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
		"orders-accepted", d.OrderID, out.EventID, payload, now); err != nil {
		return fmt.Errorf("outbox insert: %w", err)
	}
	return nil
}

// Check reads the state table: the total of events applied, the number of
// keys, and the per-key order violations.
func Check(ctx context.Context, db *sqldb.DB) (events, keys, outOfOrder int, err error) {
	err = db.Read.QueryRowContext(ctx,
		`SELECT COALESCE(SUM(events), 0), COUNT(*), COALESCE(SUM(out_of_order), 0) FROM order_state`).
		Scan(&events, &keys, &outOfOrder)
	return events, keys, outOfOrder, err
}
