package consumerpeer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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

const (
	dedupSQL = `INSERT INTO peer_processed (group_id, event_id, processed_at) VALUES ($1, $2, $3)
ON CONFLICT (group_id, event_id) DO NOTHING`
	upsertSQL = `
INSERT INTO order_state (order_id, status, total_cents, last_event_id, seq, events, out_of_order, updated_at)
VALUES ($1, 'placed', $2, $3, $4, 1, $4 <> 1, $5)
ON CONFLICT (order_id) DO UPDATE SET
	status = excluded.status,
	total_cents = excluded.total_cents,
	last_event_id = excluded.last_event_id,
	out_of_order = order_state.out_of_order + (excluded.seq <> order_state.seq + 1),
	seq = excluded.seq,
	events = order_state.events + 1,
	updated_at = excluded.updated_at`
	outboxSQL = `INSERT INTO outbox_rows (topic, msg_key, event_id, payload, created_at) VALUES ($1, $2, $3, $4, $5)`
)

// Work is the handler's database work, with its statements prepared once on
// the write pool (SQLite has one write connection, so every transaction
// reuses them). Every side uses the same Work; a Work is safe for
// concurrent use.
type Work struct {
	dedup, upsert, outbox *sql.Stmt
}

// NewWork prepares the statements on db's write pool.
func NewWork(ctx context.Context, db *sqldb.DB) (*Work, error) {
	w := &Work{}
	var err error
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&w.dedup, dedupSQL}, {&w.upsert, upsertSQL}, {&w.outbox, outboxSQL}} {
		if *p.dst, err = db.Write.PrepareContext(ctx, p.q); err != nil {
			return nil, errors.Join(fmt.Errorf("prepare: %w", err), w.Close())
		}
	}
	return w, nil
}

// Close closes the prepared statements.
func (w *Work) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{w.dedup, w.upsert, w.outbox} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	return errors.Join(errs...)
}

// Dedup inserts (group, eventID) into the peer dedup table and reports
// whether it was new; false means a duplicate to skip.
func (w *Work) Dedup(ctx context.Context, tx *sqldb.Tx, group, eventID string) (bool, error) {
	res, err := tx.StmtContext(ctx, w.dedup).ExecContext(ctx,
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
func (w *Work) Effect(ctx context.Context, tx *sqldb.Tx, env event.Envelope) error {
	var d OrderPlaced
	if err := env.UnmarshalData(&d); err != nil {
		return err
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := tx.StmtContext(ctx, w.upsert).ExecContext(ctx,
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
	if _, err := tx.StmtContext(ctx, w.outbox).ExecContext(ctx,
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
