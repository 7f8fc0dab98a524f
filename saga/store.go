package saga

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
)

// querier is what both *sql.DB and *sqldb.Tx offer for reads.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

const instanceCols = `id, definition, correlation_id, status, step, attempt, command_id, data, deadline, reason, version, created_at, updated_at`

func scanInstance(sc interface{ Scan(...any) error }) (*State, error) {
	var (
		st                 State
		status, data       string
		deadline           sql.NullInt64
		created, updated   int64
		step, attempt, ver int64
	)
	if err := sc.Scan(&st.ID, &st.Definition, &st.CorrelationID, &status, &step, &attempt,
		&st.CommandID, &data, &deadline, &st.Reason, &ver, &created, &updated); err != nil {
		return nil, err
	}
	st.Status = Status(status)
	st.Step, st.Attempt, st.Version = int(step), int(attempt), ver
	st.Data = []byte(data)
	if deadline.Valid {
		st.Deadline = fromMicros(deadline.Int64)
	}
	st.CreatedAt, st.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &st, nil
}

func loadInstance(ctx context.Context, q querier, id string) (*State, error) {
	st, err := scanInstance(q.QueryRowContext(ctx, `SELECT `+instanceCols+` FROM saga_instances WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("saga: load %s: %w", id, err)
	}
	return st, nil
}

// insertInstance inserts st unless a saga with its id exists; it reports
// whether it inserted.
func insertInstance(ctx context.Context, tx *sqldb.Tx, st *State) (bool, error) {
	res, err := consumer.Exec(ctx, tx, `INSERT INTO saga_instances (`+instanceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
		st.ID, st.Definition, st.CorrelationID, string(st.Status), st.Step, st.Attempt, st.CommandID,
		string(st.Data), nullMicros(st.Deadline), st.Reason, st.Version, micros(st.CreatedAt), micros(st.UpdatedAt))
	if err != nil {
		return false, fmt.Errorf("saga: insert %s: %w", st.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("saga: insert %s: %w", st.ID, err)
	}
	return n == 1, nil
}

// updateInstance writes st if the row still has version prev; st.Version
// must already be prev+1.
func updateInstance(ctx context.Context, tx *sqldb.Tx, st *State, prev int64) error {
	res, err := consumer.Exec(ctx, tx, `UPDATE saga_instances SET status = $1, step = $2, attempt = $3,
		command_id = $4, data = $5, deadline = $6, reason = $7, version = $8, updated_at = $9
		WHERE id = $10 AND version = $11`,
		string(st.Status), st.Step, st.Attempt, st.CommandID, string(st.Data), nullMicros(st.Deadline),
		st.Reason, st.Version, micros(st.UpdatedAt), st.ID, prev)
	if err != nil {
		return fmt.Errorf("saga: update %s: %w", st.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("saga: update %s: %w", st.ID, err)
	}
	if n != 1 {
		return fmt.Errorf("%w: saga %s is no longer at version %d", ErrConflict, st.ID, prev)
	}
	return nil
}

// commandRow is one row of saga_commands.
type commandRow struct {
	id      string
	sagaID  string
	step    int
	phase   Phase
	attempt int
	at      time.Time
}

func insertCommand(ctx context.Context, tx *sqldb.Tx, c commandRow) error {
	_, err := consumer.Exec(ctx, tx, `INSERT INTO saga_commands (command_id, saga_id, step, phase, attempt, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.id, c.sagaID, c.step, string(c.phase), c.attempt, micros(c.at))
	if err != nil {
		return fmt.Errorf("saga: record command %s: %w", c.id, err)
	}
	return nil
}

func lookupCommand(ctx context.Context, tx *sqldb.Tx, id string) (commandRow, bool, error) {
	c := commandRow{id: id}
	var phase string
	var step, attempt, at int64
	err := tx.QueryRowContext(ctx, `SELECT saga_id, step, phase, attempt, created_at FROM saga_commands WHERE command_id = $1`, id).
		Scan(&c.sagaID, &step, &phase, &attempt, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("saga: look up command %s: %w", id, err)
	}
	c.step, c.phase, c.attempt, c.at = int(step), Phase(phase), int(attempt), fromMicros(at)
	return c, true, nil
}

func insertHistory(ctx context.Context, tx *sqldb.Tx, sagaID string, es []HistoryEntry) error {
	for _, e := range es {
		if _, err := consumer.Exec(ctx, tx, `INSERT INTO saga_history (saga_id, at, step, step_name, phase, event, command_id, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			sagaID, micros(e.At), e.Step, e.StepName, string(e.Phase), e.Event, e.CommandID, e.Reason); err != nil {
			return fmt.Errorf("saga: history of %s: %w", sagaID, err)
		}
	}
	return nil
}

func loadHistory(ctx context.Context, q querier, sagaID string) ([]HistoryEntry, error) {
	rows, err := q.QueryContext(ctx, `SELECT at, step, step_name, phase, event, command_id, reason
		FROM saga_history WHERE saga_id = $1 ORDER BY id`, sagaID)
	if err != nil {
		return nil, fmt.Errorf("saga: history of %s: %w", sagaID, err)
	}
	defer rows.Close()
	var out []HistoryEntry
	for rows.Next() {
		var e HistoryEntry
		var at, step int64
		var phase string
		if err := rows.Scan(&at, &step, &e.StepName, &phase, &e.Event, &e.CommandID, &e.Reason); err != nil {
			return nil, fmt.Errorf("saga: history of %s: %w", sagaID, err)
		}
		e.At, e.Step, e.Phase = fromMicros(at), int(step), Phase(phase)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("saga: history of %s: %w", sagaID, err)
	}
	return out, nil
}

// dueSagas returns the ids of up to limit sagas whose deadline is at or
// before now, earliest first.
func dueSagas(ctx context.Context, q querier, now time.Time, limit int) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id FROM saga_instances
		WHERE deadline IS NOT NULL AND deadline <= $1 ORDER BY deadline LIMIT $2`, micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("saga: due sagas: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("saga: due sagas: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("saga: due sagas: %w", err)
	}
	return ids, nil
}
