package saga

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Get returns saga id with its history (ErrNotFound if there is none).
func (o *Orchestrator) Get(ctx context.Context, id string) (*State, error) {
	st, err := loadInstance(ctx, o.db.Read, id)
	if err != nil {
		return nil, err
	}
	if st.History, err = loadHistory(ctx, o.db.Read, id); err != nil {
		return nil, err
	}
	return st, nil
}

// ListOptions filters and pages List.
type ListOptions struct {
	// Status keeps only sagas with this status (empty: all).
	Status Status
	// Definition keeps only sagas of this definition (empty: all).
	Definition string
	// After returns sagas created after this one (id of the last saga of
	// the previous page); empty starts at the oldest.
	After string
	// Limit is the page size (0 means 100; at most 1000).
	Limit int
}

// List returns sagas oldest first (by creation time, then id), without
// their history.
func (o *Orchestrator) List(ctx context.Context, opts ListOptions) ([]*State, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if opts.Status != "" {
		where = append(where, "status = "+arg(string(opts.Status)))
	}
	if opts.Definition != "" {
		where = append(where, "definition = "+arg(opts.Definition))
	}
	if opts.After != "" {
		after, err := loadInstance(ctx, o.db.Read, opts.After)
		if err != nil {
			return nil, err
		}
		c := arg(micros(after.CreatedAt))
		where = append(where, fmt.Sprintf("(created_at > %s OR (created_at = %s AND id > %s))", c, c, arg(after.ID)))
	}
	q := `SELECT ` + instanceCols + ` FROM saga_instances`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at, id LIMIT " + arg(limit)
	rows, err := o.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("saga: list: %w", err)
	}
	defer rows.Close()
	var out []*State
	for rows.Next() {
		st, err := scanInstance(rows)
		if err != nil {
			return nil, fmt.Errorf("saga: list: %w", err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("saga: list: %w", err)
	}
	return out, nil
}

// Counts returns the number of sagas per status; every status in Statuses
// is present, zero or not.
func (o *Orchestrator) Counts(ctx context.Context) (map[Status]int, error) {
	out := make(map[Status]int, len(Statuses))
	for _, s := range Statuses {
		out[s] = 0
	}
	rows, err := o.db.Read.QueryContext(ctx, `SELECT status, COUNT(*) FROM saga_instances GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("saga: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("saga: counts: %w", err)
		}
		out[Status(s)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("saga: counts: %w", err)
	}
	return out, nil
}

// NextDeadline returns the earliest pending step deadline (zero when no saga
// waits with a timeout), e.g. for a dashboard or a smarter Run.
func (o *Orchestrator) NextDeadline(ctx context.Context) (time.Time, error) {
	var d *int64
	if err := o.db.Read.QueryRowContext(ctx,
		`SELECT MIN(deadline) FROM saga_instances WHERE deadline IS NOT NULL`).Scan(&d); err != nil {
		return time.Time{}, fmt.Errorf("saga: next deadline: %w", err)
	}
	if d == nil {
		return time.Time{}, nil
	}
	return fromMicros(*d), nil
}
