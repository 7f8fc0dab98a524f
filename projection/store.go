package projection

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// querier is what *sql.DB, *sql.Conn and *sqldb.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// seenTable is the logical name of the runner's dedup table of a projection.
func seenTable(name string) string { return name + "__seen" }

// checkpointName is the name the checkpoints of a target are stored under:
// the projection's name, or name__shadow while a rebuild runs.
func checkpointName(name string, shadow bool) string {
	if shadow {
		return name + shadowSuffix
	}
	return name
}

// lockKey is a PostgreSQL advisory lock key for purpose and projection in
// the DB's schema.
func lockKey(db *sqldb.DB, purpose, name string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("causeway-projection:" + purpose + ":" + db.Schema + ":" + name))
	return int64(h.Sum64())
}

// lockState locks the projection's state row for the rest of tx (FOR UPDATE
// on PostgreSQL; SQLite's single writer serialises anyway) and returns its
// generation, or ok false when the projection was never set up. Every live
// batch and the swap of a rebuild take this lock first, so a swap and a
// batch never interleave.
func lockState(ctx context.Context, tx *sqldb.Tx, name string) (gen int64, ok bool, err error) {
	q := `SELECT generation FROM projection_state WHERE projection = $1`
	if tx.Dialect == sqldb.Postgres {
		q += ` FOR UPDATE`
	}
	err = tx.QueryRowContext(ctx, q, name).Scan(&gen)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("projection %s: lock state: %w", name, err)
	}
	return gen, true, nil
}

// setupLive creates the live tables of p (its Schema's and the dedup
// table) and its state row, unless it exists. Safe to race on PostgreSQL
// (an advisory transaction lock serialises), idempotent.
func setupLive(ctx context.Context, db *sqldb.DB, p Projection, s Schema) error {
	name := p.Name()
	return db.InTx(ctx, func(tx *sqldb.Tx) error {
		if tx.Dialect == sqldb.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(db, "setup", name)); err != nil {
				return fmt.Errorf("projection %s: setup lock: %w", name, err)
			}
		}
		if _, ok, err := lockState(ctx, tx, name); err != nil || ok {
			return err
		}
		if err := createTables(ctx, tx, name, s, Tables{generation: 1}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO projection_state (projection, generation, updated_at) VALUES ($1, 1, $2)`,
			name, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("projection %s: insert state: %w", name, err)
		}
		return nil
	})
}

// createTables creates the dedup table and the Schema's tables under t.
func createTables(ctx context.Context, tx *sqldb.Tx, name string, s Schema, t Tables) error {
	seen := `CREATE TABLE ` + t.Name(seenTable(name)) + ` (event_id TEXT NOT NULL PRIMARY KEY)`
	if tx.Dialect == sqldb.SQLite {
		seen += ` WITHOUT ROWID`
	}
	if _, err := tx.ExecContext(ctx, seen); err != nil {
		return fmt.Errorf("projection %s: create dedup table: %w", name, err)
	}
	if s != nil {
		if err := s.Setup(ctx, tx, t); err != nil {
			return fmt.Errorf("projection %s: setup tables: %w", name, err)
		}
	}
	return nil
}

// dropTables drops the tables named by t (the dedup table and the
// Schema's), if they exist.
func dropTables(ctx context.Context, tx *sqldb.Tx, name string, s Schema, t Tables) error {
	names := []string{seenTable(name)}
	if s != nil {
		names = append(names, s.TableNames()...)
	}
	for _, n := range names {
		if _, err := tx.ExecContext(ctx, `DROP TABLE IF EXISTS `+t.Name(n)); err != nil {
			return fmt.Errorf("projection %s: drop %s: %w", name, t.Name(n), err)
		}
	}
	return nil
}

// Checkpoints returns the stored position of the projection name: the next
// offset to apply per partition (partitions it never applied are absent).
func Checkpoints(ctx context.Context, db *sqldb.DB, name string) (map[TopicPartition]int64, error) {
	return readCheckpoints(ctx, db.Read, name)
}

func readCheckpoints(ctx context.Context, q querier, name string) (map[TopicPartition]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT topic, part, next_offset FROM projection_checkpoints WHERE projection = $1`, name)
	if err != nil {
		return nil, fmt.Errorf("projection %s: read checkpoints: %w", name, err)
	}
	defer rows.Close()
	out := map[TopicPartition]int64{}
	for rows.Next() {
		var tp TopicPartition
		var next int64
		if err := rows.Scan(&tp.Topic, &tp.Partition, &next); err != nil {
			return nil, fmt.Errorf("projection %s: read checkpoints: %w", name, err)
		}
		out[tp] = next
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projection %s: read checkpoints: %w", name, err)
	}
	return out, nil
}

// readCheckpoint returns one partition's next offset, or -1 when none is
// stored.
func readCheckpoint(ctx context.Context, tx *sqldb.Tx, name string, tp TopicPartition) (int64, error) {
	var next int64
	err := tx.QueryRowContext(ctx, `SELECT next_offset FROM projection_checkpoints WHERE projection = $1 AND topic = $2 AND part = $3`,
		name, tp.Topic, tp.Partition).Scan(&next)
	if err == sql.ErrNoRows {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("projection %s: read checkpoint %s/%d: %w", name, tp.Topic, tp.Partition, err)
	}
	return next, nil
}

func upsertCheckpoint(ctx context.Context, tx *sqldb.Tx, name string, tp TopicPartition, next int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO projection_checkpoints (projection, topic, part, next_offset, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (projection, topic, part) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at`,
		name, tp.Topic, tp.Partition, next, time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("projection %s: store checkpoint %s/%d: %w", name, tp.Topic, tp.Partition, err)
	}
	return nil
}

// checkpoint is a partition's next offset.
type checkpoint struct {
	tp   TopicPartition
	next int64
}

// upsertCheckpoints is upsertCheckpoint for several partitions (distinct),
// in one statement.
func upsertCheckpoints(ctx context.Context, tx *sqldb.Tx, name string, cps []checkpoint) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO projection_checkpoints (projection, topic, part, next_offset, updated_at) VALUES `)
	args := make([]any, 2, 2+3*len(cps))
	args[0], args[1] = name, time.Now().UnixMilli()
	for i, cp := range cps {
		if i > 0 {
			q.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&q, "($1, $%d, $%d, $%d, $2)", n+1, n+2, n+3)
		args = append(args, cp.tp.Topic, cp.tp.Partition, cp.next)
	}
	q.WriteString(` ON CONFLICT (projection, topic, part) DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at`)
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("projection %s: store checkpoints: %w", name, err)
	}
	return nil
}

// insertSeen inserts ids (distinct) into the dedup table in one statement
// and returns those that were new.
func insertSeen(ctx context.Context, tx *sqldb.Tx, table string, ids []string) (map[string]struct{}, error) {
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("projection: dedup: %w", err)
	}
	// WHERE true: SQLite needs it to parse ON CONFLICT after INSERT … SELECT.
	q := `INSERT INTO ` + table + ` (event_id) SELECT value FROM json_each($1) WHERE true ON CONFLICT DO NOTHING RETURNING event_id`
	if tx.Dialect == sqldb.Postgres {
		q = `INSERT INTO ` + table + ` (event_id) SELECT v FROM jsonb_array_elements_text($1::jsonb) AS t(v) ON CONFLICT DO NOTHING RETURNING event_id`
	}
	rows, err := tx.QueryContext(ctx, q, string(list))
	if err != nil {
		return nil, fmt.Errorf("projection: dedup insert: %w", err)
	}
	defer rows.Close()
	fresh := make(map[string]struct{}, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("projection: dedup insert: %w", err)
		}
		fresh[id] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projection: dedup insert: %w", err)
	}
	return fresh, nil
}

// Error kinds and actions in projection_errors.
const (
	kindDecode = "decode"
	kindApply  = "apply"

	actionSkipped = "skipped"
	actionStopped = "stopped"
)

func recordError(ctx context.Context, tx *sqldb.Tx, name string, m Message, eventType, kind, action string, cause error, attempts int) error {
	now := time.Now().UnixMilli()
	_, err := tx.ExecContext(ctx, `INSERT INTO projection_errors
		(projection, topic, part, rec_offset, event_id, event_type, kind, action, error, attempts, first_at, last_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
		ON CONFLICT (projection, topic, part, rec_offset) DO UPDATE SET
		  action = excluded.action, error = excluded.error,
		  attempts = projection_errors.attempts + excluded.attempts, last_at = excluded.last_at`,
		name, m.Topic, m.Partition, m.Offset, m.Envelope.EventID, eventType, kind, action, truncate(cause.Error(), 2000), attempts, now)
	if err != nil {
		return fmt.Errorf("projection %s: record error: %w", name, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ErrorRecord is one row of projection_errors.
type ErrorRecord struct {
	Projection string
	Topic      string
	Partition  int32
	Offset     int64
	EventID    string
	EventType  string
	// Kind is "decode" (the value could not be decoded) or "apply".
	Kind string
	// Action is "skipped" (the checkpoint moved past the event) or
	// "stopped" (the partition stopped at the event).
	Action   string
	Error    string
	Attempts int
	FirstAt  time.Time
	LastAt   time.Time
}

// Errors lists the recorded errors of the projection name, oldest first.
func Errors(ctx context.Context, db *sqldb.DB, name string) ([]ErrorRecord, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT projection, topic, part, rec_offset, event_id, event_type, kind, action, error, attempts, first_at, last_at
		FROM projection_errors WHERE projection = $1 ORDER BY first_at, topic, part, rec_offset`, name)
	if err != nil {
		return nil, fmt.Errorf("projection %s: list errors: %w", name, err)
	}
	defer rows.Close()
	var out []ErrorRecord
	for rows.Next() {
		var e ErrorRecord
		var first, last int64
		if err := rows.Scan(&e.Projection, &e.Topic, &e.Partition, &e.Offset, &e.EventID, &e.EventType, &e.Kind, &e.Action,
			&e.Error, &e.Attempts, &first, &last); err != nil {
			return nil, fmt.Errorf("projection %s: list errors: %w", name, err)
		}
		e.FirstAt, e.LastAt = time.UnixMilli(first).UTC(), time.UnixMilli(last).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
