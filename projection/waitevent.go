package projection

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WaitForEvent waits until the projection has applied (or deduplicated)
// the event with id eventID — it is in the projection's dedup table — or
// ctx ends: then it returns an error matching ErrStale (and ctx's error).
// It is the read-your-writes wait of a writer that knows the id of the
// event it wrote but not the Kafka offset it was published at. It needs
// dedup (the default; with WithoutDedup it is ErrInvalid). Like WaitFor it
// is woken by this runner's commits and re-reads every WithWaitPoll.
func (r *Runner) WaitForEvent(ctx context.Context, eventID string) error {
	if !r.cfg.dedup {
		return fmt.Errorf("%w: WaitForEvent needs the dedup table (WithoutDedup given)", ErrInvalid)
	}
	if eventID == "" {
		return nil
	}
	q := `SELECT 1 FROM ` + r.live.seen + ` WHERE event_id = $1`
	seen := func() (bool, error) {
		var one int
		err := r.db.Read.QueryRowContext(ctx, q, eventID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	tick := time.NewTicker(r.cfg.waitPoll)
	defer tick.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		ok, err := seen()
		if ok {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			// The table may not exist yet (before Setup) or be swapped
			// by a rebuild right now: wait and look again.
			r.cfg.log.Debug("projection: wait for event", "projection", r.p.Name(), "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %s has not applied event %q: %w", ErrStale, r.p.Name(), eventID, ctx.Err())
		case <-ch:
		case <-tick.C:
		}
	}
}
