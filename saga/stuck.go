package saga

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// MarkStuck marks saga sagaID failed (stuck) because the command it waits
// for — the one of step (index) and phase — can never be handled: a
// participant dead-lettered it, so no reply will come. It runs in the
// caller's transaction and records a "stuck" history entry with reason,
// in the phase of the command (an action stuck in the forward phase is
// retried by Retry as an action; see Retry, Skip, Compensate).
//
// It is a no-op returning false when the saga no longer waits for that
// step and phase: already stuck (idempotent), finished, or moved on (a
// late letter of a command a reply or timeout made stale). An unknown
// saga gives ErrNotFound.
func (o *Orchestrator) MarkStuck(ctx context.Context, tx *sqldb.Tx, sagaID string, step int, phase Phase, reason string) (bool, error) {
	st, def, err := o.load(ctx, tx, sagaID)
	if err != nil {
		return false, err
	}
	if st.Status.Terminal() || st.Step != step || phaseOf(st.Status) != phase {
		o.log.Debug("stale dead letter of a saga command ignored", "saga", sagaID, "status", st.Status,
			"step", st.Step, "letter_step", step, "letter_phase", phase)
		return false, nil
	}
	c := o.newChange(st, def)
	// Recorded before the status changes, so the entry carries the phase
	// of the command (phaseOf gives compensation for a failed saga).
	c.record(EventStuck, st.CommandID, reason)
	st.Status = StatusFailed
	st.Deadline = time.Time{}
	st.Reason = reason
	if _, err := o.save(ctx, tx, c); err != nil {
		return false, err
	}
	o.log.Warn("saga stuck: its command was dead-lettered", "saga", sagaID, "step", c.step().Name, "phase", phase, "reason", reason)
	return true, nil
}

// stuckPhase returns the phase a failed saga is stuck in: that of its
// last "stuck" history entry — PhaseAction when MarkStuck stopped it in
// its forward phase, PhaseCompensation otherwise.
func stuckPhase(ctx context.Context, tx *sqldb.Tx, sagaID string) (Phase, error) {
	var p string
	err := tx.QueryRowContext(ctx, `SELECT phase FROM saga_history WHERE saga_id = $1 AND event = $2
		ORDER BY id DESC LIMIT 1`, sagaID, EventStuck).Scan(&p)
	if errors.Is(err, sql.ErrNoRows) {
		return PhaseCompensation, nil
	}
	if err != nil {
		return "", fmt.Errorf("saga: stuck phase of %s: %w", sagaID, err)
	}
	if Phase(p) == PhaseAction {
		return PhaseAction, nil
	}
	return PhaseCompensation, nil
}
