package dlq

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// Migrations returns the audit log's schema (component "dlq") for
// sqldb.DB.Migrate, on SQLite and PostgreSQL: the dlq_audit table (one row
// per replay or discard, dry runs included) and dlq_jobs (bulk replay
// jobs and their checkpoints).
func Migrations() []sqldb.Migration {
	read := func(name string) string {
		b, err := sqlFS.ReadFile("sql/" + name)
		if err != nil {
			// Embedded at build time; a missing file is a build bug.
			panic("dlq: missing embedded migration " + name)
		}
		return string(b)
	}
	return []sqldb.Migration{{
		Component: "dlq",
		Version:   1,
		SQLite:    read("0001_dlq.sqlite.sql"),
		Postgres:  read("0001_dlq.postgres.sql"),
	}}
}

// Audit is the log of operator actions on dead letters, kept in a SQL
// database (migrated with Migrations): who replayed or discarded which
// letter, when, why, whether it was a dry run, and the letter's replay
// count after it. It also holds bulk replay jobs and their checkpoints.
//
// An Audit is safe for concurrent use.
type Audit struct {
	db *sqldb.DB
}

// NewAudit returns the audit log stored in db. Run db.Migrate(ctx,
// Migrations()) first.
func NewAudit(db *sqldb.DB) *Audit { return &Audit{db: db} }

// Entry is one audited action.
type Entry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Operator string    `json:"operator"`
	// Action is consumer.ActionReplay or consumer.ActionDiscard.
	Action   string `json:"action"`
	LetterID string `json:"letterId"`
	Group    string `json:"group"`
	Key      string `json:"key"`
	Reason   string `json:"reason"`
	DryRun   bool   `json:"dryRun"`
	Forced   bool   `json:"forced"`
	// ReplayCount is the letter's replay count after the action.
	ReplayCount int `json:"replayCount"`
	// JobID is the bulk replay job the action belongs to, if any.
	JobID string `json:"jobId,omitempty"`
}

// Entries returns the audited actions on letterID (all letters when it is
// empty), oldest first, at most limit (0: all).
func (a *Audit) Entries(ctx context.Context, letterID string, limit int) ([]Entry, error) {
	q := `SELECT id, at_ms, operator, action, letter_id, group_name, record_key, reason, dry_run,
		forced, replay_count, job_id FROM dlq_audit WHERE ($1 = '' OR letter_id = $1) ORDER BY id`
	args := []any{letterID}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := a.db.Read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("dlq: read audit: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		var dry, forced int
		if err := rows.Scan(&e.ID, &at, &e.Operator, &e.Action, &e.LetterID, &e.Group, &e.Key,
			&e.Reason, &dry, &forced, &e.ReplayCount, &e.JobID); err != nil {
			return nil, fmt.Errorf("dlq: read audit: %w", err)
		}
		e.At, e.DryRun, e.Forced = time.UnixMilli(at).UTC(), dry != 0, forced != 0
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dlq: read audit: %w", err)
	}
	return out, nil
}

// request is the latest real (not dry-run) action on a letter.
type request struct {
	action string
	at     time.Time
}

// summary returns, per letter id, how many real replays the log has and
// the latest real action.
func (a *Audit) summary(ctx context.Context) (map[string]int, map[string]request, error) {
	rows, err := a.db.Read.QueryContext(ctx,
		`SELECT letter_id, action, at_ms FROM dlq_audit WHERE dry_run = 0 ORDER BY id`)
	if err != nil {
		return nil, nil, fmt.Errorf("dlq: read audit: %w", err)
	}
	defer rows.Close()
	counts, reqs := map[string]int{}, map[string]request{}
	for rows.Next() {
		var id, action string
		var at int64
		if err := rows.Scan(&id, &action, &at); err != nil {
			return nil, nil, fmt.Errorf("dlq: read audit: %w", err)
		}
		if action == "replay" {
			counts[id]++
		}
		reqs[id] = request{action: action, at: time.UnixMilli(at).UTC()}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("dlq: read audit: %w", err)
	}
	return counts, reqs, nil
}

// record inserts e in tx and, for a job, moves its checkpoint to e.
func record(ctx context.Context, tx *sqldb.Tx, e Entry) error {
	b := func(v bool) int {
		if v {
			return 1
		}
		return 0
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dlq_audit (at_ms, operator, action, letter_id,
		group_name, record_key, reason, dry_run, forced, replay_count, job_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.At.UnixMilli(), e.Operator, e.Action, e.LetterID, e.Group, e.Key, e.Reason,
		b(e.DryRun), b(e.Forced), e.ReplayCount, e.JobID); err != nil {
		return fmt.Errorf("dlq: write audit: %w", err)
	}
	if e.JobID != "" && !e.DryRun {
		if _, err := tx.ExecContext(ctx, `UPDATE dlq_jobs SET last_letter_id = $2,
			replayed = replayed + 1, updated_ms = $3 WHERE job_id = $1`,
			e.JobID, e.LetterID, e.At.UnixMilli()); err != nil {
			return fmt.Errorf("dlq: checkpoint job %s: %w", e.JobID, err)
		}
	}
	return nil
}

// Job is a bulk replay and its checkpoint.
type Job struct {
	ID        string    `json:"id"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	Operator  string    `json:"operator"`
	Reason    string    `json:"reason"`
	Selection Selection `json:"selection"`
	Rate      float64   `json:"rate,omitempty"`
	Force     bool      `json:"force,omitempty"`
	// LastLetterID is the checkpoint: the last letter the job replayed.
	LastLetterID string `json:"lastLetterId,omitempty"`
	// Replayed counts the letters the job replayed so far.
	Replayed int `json:"replayed"`
	// Finished is set once the job went through its whole selection.
	Finished bool `json:"finished"`
}

func (a *Audit) createJob(ctx context.Context, j Job) error {
	ids, _ := json.Marshal(j.Selection.IDs) // cannot fail: strings
	force := 0
	if j.Force {
		force = 1
	}
	_, err := a.db.Write.ExecContext(ctx, `INSERT INTO dlq_jobs (job_id, created_ms, updated_ms,
		operator, reason, filter, ids, rate, forced) VALUES ($1, $2, $2, $3, $4, $5, $6, $7, $8)`,
		j.ID, j.Created.UnixMilli(), j.Operator, j.Reason, j.Selection.Filter.Encode().Encode(),
		string(ids), j.Rate, force)
	if err != nil {
		return fmt.Errorf("dlq: create job: %w", err)
	}
	return nil
}

// Job returns the bulk replay job id, or an error matching ErrJobNotFound.
func (a *Audit) Job(ctx context.Context, id string) (Job, error) {
	j := Job{ID: id}
	var created, updated int64
	var filter, ids string
	var forced, finished int
	err := a.db.Read.QueryRowContext(ctx, `SELECT created_ms, updated_ms, operator, reason, filter,
		ids, rate, forced, last_letter_id, replayed, finished FROM dlq_jobs WHERE job_id = $1`, id).
		Scan(&created, &updated, &j.Operator, &j.Reason, &filter, &ids, &j.Rate, &forced,
			&j.LastLetterID, &j.Replayed, &finished)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("%w: %q", ErrJobNotFound, id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("dlq: read job: %w", err)
	}
	j.Created, j.Updated = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	j.Force, j.Finished = forced != 0, finished != 0
	if err := json.Unmarshal([]byte(ids), &j.Selection.IDs); err != nil {
		return Job{}, fmt.Errorf("dlq: job %s: ids: %w", id, err)
	}
	q, err := url.ParseQuery(filter)
	if err != nil {
		return Job{}, fmt.Errorf("dlq: job %s: filter: %w", id, err)
	}
	if j.Selection.Filter, err = ParseFilter(q, j.Created); err != nil {
		return Job{}, fmt.Errorf("dlq: job %s: filter: %w", id, err)
	}
	return j, nil
}

// jobDone returns the letters job has replayed.
func (a *Audit) jobDone(ctx context.Context, job string) (map[string]bool, error) {
	rows, err := a.db.Read.QueryContext(ctx,
		`SELECT letter_id FROM dlq_audit WHERE job_id = $1 AND dry_run = 0 AND action = 'replay'`, job)
	if err != nil {
		return nil, fmt.Errorf("dlq: read job %s: %w", job, err)
	}
	defer rows.Close()
	done := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("dlq: read job %s: %w", job, err)
		}
		done[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dlq: read job %s: %w", job, err)
	}
	return done, nil
}

func (a *Audit) finishJob(ctx context.Context, job string) error {
	if _, err := a.db.Write.ExecContext(ctx, `UPDATE dlq_jobs SET finished = 1, updated_ms = $2
		WHERE job_id = $1`, job, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("dlq: finish job %s: %w", job, err)
	}
	return nil
}

func newJobID() string { return "job-" + event.NewID() }
