package saga

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// Timeout policy (per step, see Step.Timeout and Step.Retries):
//
//   - an Action whose reply is overdue is sent again, with a new command id,
//     up to Step.Retries times; after that the saga compensates, starting
//     with the timed-out step itself, because its action may have taken
//     effect (a participant answers "succeeded" to the compensation of
//     something it never did);
//   - a Compensation whose reply is overdue is sent again, up to
//     WithCompensationAttempts sends in all; then the saga is failed (stuck)
//     and waits for an operator.
//
// The causationId of a command sent because of a timeout is the id of the
// command that timed out.

// Tick handles every saga whose step deadline has passed by the clock's
// now, up to WithTickBatch of them, each in its own transaction. It returns
// how many it moved on. A saga changed concurrently (ErrConflict) is left
// for the next tick; other errors are joined and returned after the rest
// were tried.
func (o *Orchestrator) Tick(ctx context.Context) (int, error) {
	now := o.now()
	ids, err := dueSagas(ctx, o.db.Read, now, o.cfg.tickBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, id := range ids {
		var moved bool
		err := o.db.InTx(ctx, func(tx *sqldb.Tx) error {
			var err error
			moved, err = o.timeout(ctx, tx, id, now)
			return err
		})
		switch {
		case errors.Is(err, ErrConflict):
			o.log.Debug("saga changed during timeout; retried next tick", "saga", id)
		case err != nil:
			errs = append(errs, err)
		case moved:
			n++
		}
	}
	return n, errors.Join(errs...)
}

// timeout applies the timeout policy to saga id if its deadline is at or
// before now.
func (o *Orchestrator) timeout(ctx context.Context, tx *sqldb.Tx, id string, now time.Time) (bool, error) {
	st, def, err := o.load(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if st.Status.Terminal() || st.Deadline.IsZero() || st.Deadline.After(now) {
		return false, nil
	}
	c := o.newChange(st, def)
	step := c.step()
	timedOut := st.CommandID
	switch st.Status {
	case StatusRunning:
		if st.Attempt <= step.Retries {
			c.record(EventTimedOut, timedOut, fmt.Sprintf("attempt %d of %d; sending again", st.Attempt, step.Retries+1))
			st.Attempt++
		} else {
			reason := fmt.Sprintf("step %s timed out after %d attempts", step.Name, st.Attempt)
			c.record(EventTimedOut, timedOut, reason)
			c.compensate(st.Step, reason)
		}
	case StatusCompensating:
		if st.Attempt < o.cfg.compAttempts {
			c.record(EventTimedOut, timedOut, fmt.Sprintf("attempt %d of %d; sending again", st.Attempt, o.cfg.compAttempts))
			st.Attempt++
		} else {
			c.record(EventTimedOut, timedOut, fmt.Sprintf("attempt %d of %d", st.Attempt, o.cfg.compAttempts))
			c.stuck(fmt.Sprintf("compensation of step %s timed out %d times", step.Name, st.Attempt))
		}
	}
	o.dispatch(ctx, c, timedOut)
	if _, err := o.save(ctx, tx, c); err != nil {
		return false, err
	}
	o.log.Info("saga step timed out", "saga", id, "step", step.Name, "status", st.Status)
	return true, nil
}

// Run calls Tick every WithTickInterval (at once again when a tick was
// full) until ctx is cancelled, logging errors, and returns nil then. Run
// in one goroutine per process; several processes on one PostgreSQL
// database may each run it (optimistic concurrency keeps a timeout from
// being applied twice).
func (o *Orchestrator) Run(ctx context.Context) error {
	t := time.NewTicker(o.cfg.tickInterval)
	defer t.Stop()
	for {
		n, err := o.Tick(ctx)
		if err != nil && ctx.Err() == nil {
			o.log.Error("saga tick", "err", err)
		}
		if n >= o.cfg.tickBatch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
