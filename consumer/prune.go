package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// Pruning the dedup table.
//
// consumer_processed grows by one row per event a group handles. A row is
// only useful while Kafka can still hand the group that event again: a
// redelivery after a crash (the embedded broker and a real cluster give
// uncommitted records back within seconds of the restart), an offset reset
// to the earliest retained record (a group whose committed offsets expired
// after a long stop, a deliberate re-read), or a replay of a dead letter.
// Once every topic the group reads has deleted the record, no duplicate of
// it can arrive and its row is dead weight. So rows older than the longest
// retention of the group's topics, plus a safety margin, can go.
//
// The window is measured from processed_at (when the group handled the
// event), which is never earlier than the record's append time, so a row
// older than the window belongs to a record older than the window too.
// The margin covers what retention does not bound exactly: Kafka deletes
// whole segments, so a record lives until the newest record of its segment
// is older than retention.ms (segments roll at segment.bytes or
// segment.ms), and clocks of the broker and the database host may differ.
//
// Prune refuses (ErrWindowTooShort) a window shorter than the retention it
// is told (WithPruneRetention, default DefaultPruneRetention) plus the
// margin (WithPruneMargin, default DefaultPruneMargin). It deletes in
// bounded batches, each its own short transaction, so the SQLite writer is
// never held for long and the runner's batches interleave with it.

// DefaultPruneRetention is the retention Prune assumes for the topics a
// group reads when not told otherwise: the longest retention of any topic
// a Causeway group consumes, its replay topic (replay.<group>, kept like a
// dead-letter topic for 14 days; the event and command topics keep 7
// days). A dead letter replayed twice within its 14 days must find the row
// its first replay wrote.
const DefaultPruneRetention = 14 * 24 * time.Hour

// DefaultPruneMargin is the safety margin added to the retention.
const DefaultPruneMargin = 24 * time.Hour

// DefaultPruneWindow is the default age beyond which processed rows are
// pruned: DefaultPruneRetention + DefaultPruneMargin (15 days).
const DefaultPruneWindow = DefaultPruneRetention + DefaultPruneMargin

// DefaultPruneBatch is how many rows one delete transaction removes.
const DefaultPruneBatch = 500

// DefaultPruneInterval is how often a Pruner prunes.
const DefaultPruneInterval = time.Hour

// ErrWindowTooShort is matched (errors.Is) by the *WindowError Prune and
// NewPruner return for a window inside retention + margin.
var ErrWindowTooShort = errors.New("consumer: prune window shorter than topic retention + margin")

// WindowError reports a refused prune window.
type WindowError struct {
	Window    time.Duration // the window asked for
	Retention time.Duration // the longest retention of the group's topics
	Margin    time.Duration // the safety margin
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("consumer: prune window %v is shorter than topic retention %v + margin %v = %v: "+
		"a record still retained could be redelivered after its dedup row is gone",
		e.Window, e.Retention, e.Margin, e.Retention+e.Margin)
}

// Is makes a *WindowError match ErrWindowTooShort.
func (e *WindowError) Is(target error) bool { return target == ErrWindowTooShort }

type pruneConfig struct {
	retention time.Duration
	margin    time.Duration
	batch     int
	now       func() time.Time
	log       *slog.Logger
	interval  time.Duration
}

// PruneOpt configures Prune and NewPruner.
type PruneOpt func(*pruneConfig)

// WithPruneRetention sets the longest retention of the topics the group
// reads (its replay topic included); default DefaultPruneRetention.
func WithPruneRetention(d time.Duration) PruneOpt {
	return func(c *pruneConfig) { c.retention = d }
}

// WithPruneMargin sets the safety margin over the retention; default
// DefaultPruneMargin. A negative value counts as zero.
func WithPruneMargin(d time.Duration) PruneOpt {
	return func(c *pruneConfig) { c.margin = max(d, 0) }
}

// WithPruneBatch sets how many rows one delete transaction removes
// (default DefaultPruneBatch; values below 1 keep the default).
func WithPruneBatch(n int) PruneOpt {
	return func(c *pruneConfig) {
		if n > 0 {
			c.batch = n
		}
	}
}

// WithPruneClock sets the clock the window is measured by (default
// time.Now); tests inject one.
func WithPruneClock(now func() time.Time) PruneOpt {
	return func(c *pruneConfig) {
		if now != nil {
			c.now = now
		}
	}
}

// WithPruneLogger sets a Pruner's logger (default: discard).
func WithPruneLogger(l *slog.Logger) PruneOpt {
	return func(c *pruneConfig) {
		if l != nil {
			c.log = l
		}
	}
}

// WithPruneInterval sets how often a Pruner prunes (default
// DefaultPruneInterval).
func WithPruneInterval(d time.Duration) PruneOpt {
	return func(c *pruneConfig) {
		if d > 0 {
			c.interval = d
		}
	}
}

func newPruneConfig(opts []PruneOpt) pruneConfig {
	c := pruneConfig{
		retention: DefaultPruneRetention,
		margin:    DefaultPruneMargin,
		batch:     DefaultPruneBatch,
		now:       time.Now,
		log:       slog.New(slog.DiscardHandler),
		interval:  DefaultPruneInterval,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// CheckPruneWindow returns a *WindowError when window is shorter than
// retention + margin.
func CheckPruneWindow(window, retention, margin time.Duration) error {
	if window < retention+margin {
		return &WindowError{Window: window, Retention: retention, Margin: margin}
	}
	return nil
}

// Prune deletes group's consumer_processed rows whose processed_at is more
// than olderThan before now, in batches of WithPruneBatch rows, each in
// its own transaction, and returns how many rows it deleted. It refuses a
// window inside retention + margin (ErrWindowTooShort) without deleting
// anything. On a ctx error it stops between batches and returns what it
// deleted so far with the error.
func Prune(ctx context.Context, db *sqldb.DB, group string, olderThan time.Duration, opts ...PruneOpt) (int64, error) {
	c := newPruneConfig(opts)
	if err := CheckPruneWindow(olderThan, c.retention, c.margin); err != nil {
		return 0, err
	}
	if group == "" {
		return 0, errors.New("consumer: prune: empty group")
	}
	return prune(ctx, db, group, c.now().Add(-olderThan).UnixMilli(), c.batch)
}

// prune deletes the rows of group processed before cutoff (Unix ms). It
// walks the primary key (group_name, event_id) with a keyset cursor, so
// every row is looked at once over all batches although processed_at has
// no index; the reads go to the read pool and only the deletes of one
// batch hold the writer.
func prune(ctx context.Context, db *sqldb.DB, group string, cutoff int64, batch int) (int64, error) {
	const sel = `SELECT event_id FROM consumer_processed
		WHERE group_name = $1 AND event_id > $2 AND processed_at < $3
		ORDER BY event_id LIMIT $4`
	del := `DELETE FROM consumer_processed WHERE group_name = $1 AND processed_at < $3
		AND event_id IN (SELECT value FROM json_each($2))`
	if db.Dialect == sqldb.Postgres {
		del = `DELETE FROM consumer_processed WHERE group_name = $1 AND processed_at < $3
		AND event_id IN (SELECT jsonb_array_elements_text($2::jsonb))`
	}
	var total int64
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		ids, err := pruneCandidates(ctx, db, sel, group, after, cutoff, batch)
		if err != nil {
			return total, err
		}
		if len(ids) == 0 {
			return total, nil
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return total, fmt.Errorf("consumer: prune: %w", err)
		}
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			res, err := tx.ExecContext(ctx, del, group, string(list), cutoff)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			total += n
			return err
		})
		if err != nil {
			return total, fmt.Errorf("consumer: prune: %w", err)
		}
		if len(ids) < batch {
			return total, nil
		}
		after = ids[len(ids)-1]
	}
}

func pruneCandidates(ctx context.Context, db *sqldb.DB, q, group, after string, cutoff int64, batch int) ([]string, error) {
	rows, err := db.Read.QueryContext(ctx, q, group, after, cutoff, batch)
	if err != nil {
		return nil, fmt.Errorf("consumer: prune: %w", err)
	}
	defer rows.Close()
	ids := make([]string, 0, batch)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("consumer: prune: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consumer: prune: %w", err)
	}
	return ids, nil
}

// Pruner prunes a group's dedup rows periodically (Run).
type Pruner struct {
	db     *sqldb.DB
	group  string
	window time.Duration
	opts   []PruneOpt
	cfg    pruneConfig
}

// NewPruner returns a Pruner of group's rows older than window; it
// refuses a window inside retention + margin (ErrWindowTooShort) at once,
// so a bad --dedup-retention stops the process at start-up.
func NewPruner(db *sqldb.DB, group string, window time.Duration, opts ...PruneOpt) (*Pruner, error) {
	c := newPruneConfig(opts)
	if err := CheckPruneWindow(window, c.retention, c.margin); err != nil {
		return nil, err
	}
	if group == "" {
		return nil, errors.New("consumer: pruner: empty group")
	}
	return &Pruner{db: db, group: group, window: window, opts: opts, cfg: c}, nil
}

// Window returns the pruner's window.
func (p *Pruner) Window() time.Duration { return p.window }

// PruneOnce prunes once (see Prune).
func (p *Pruner) PruneOnce(ctx context.Context) (int64, error) {
	return Prune(ctx, p.db, p.group, p.window, p.opts...)
}

// Run prunes at once and then every interval until ctx is done; errors
// are logged and retried at the next interval. It returns ctx's error.
func (p *Pruner) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.interval)
	defer t.Stop()
	for {
		n, err := p.PruneOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.cfg.log.Warn("dedup prune failed", "group", p.group, "deleted", n, "err", err)
		case n > 0:
			p.cfg.log.Info("dedup rows pruned", "group", p.group, "deleted", n, "window", p.window)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
