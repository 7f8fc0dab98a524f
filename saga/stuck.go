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

// MarkReplyStuck marks failed (stuck) the saga that sent command
// commandID because the participant's reply to it was dead-lettered by
// the orchestrator's own consumer: the command was handled — an action
// may have taken effect — but the saga will never hear how. It runs in
// the caller's transaction and records a "stuck-reply" history entry
// with reason, in the phase of the command.
//
// An operator then has a choice that accounts for the unknown effect:
// Retry sends the command again (participants are idempotent, so an
// action that took effect is not repeated, and its reply arrives anew),
// Compensate and Skip undo the step itself too when it was an action.
// Replaying the letter once its cause is fixed resumes the saga as if it
// had never stopped.
//
// Like MarkStuck it is a no-op returning false when the saga no longer
// waits for that command's step and phase (already stuck, finished or
// moved on). A command the orchestrator never sent gives ErrNotFound.
func (o *Orchestrator) MarkReplyStuck(ctx context.Context, tx *sqldb.Tx, commandID, reason string) (bool, error) {
	cmd, found, err := lookupCommand(ctx, tx, commandID)
	if err != nil {
		return false, err
	}
	if !found {
		return false, fmt.Errorf("%w: no saga sent command %q", ErrNotFound, commandID)
	}
	st, def, err := o.load(ctx, tx, cmd.sagaID)
	if err != nil {
		return false, err
	}
	if st.Status.Terminal() || st.Step != cmd.step || phaseOf(st.Status) != cmd.phase {
		o.log.Debug("stale dead-lettered saga reply ignored", "saga", st.ID, "command", commandID,
			"status", st.Status, "step", st.Step, "reply_step", cmd.step, "reply_phase", cmd.phase)
		return false, nil
	}
	c := o.newChange(st, def)
	c.record(EventStuckReply, commandID, reason)
	st.Status = StatusFailed
	st.Deadline = time.Time{}
	st.Reason = reason
	if _, err := o.save(ctx, tx, c); err != nil {
		return false, err
	}
	o.log.Warn("saga stuck: the reply to its command was dead-lettered", "saga", st.ID, "step", c.step().Name,
		"phase", cmd.phase, "reason", reason)
	return true, nil
}

// stuckOn says what a failed saga is stuck on: the phase of its last
// "stuck" or "stuck-reply" history entry — PhaseAction when MarkStuck or
// MarkReplyStuck stopped it in its forward phase, PhaseCompensation
// otherwise — and whether the command's reply was lost (the command may
// have taken effect) rather than the command itself.
type stuckOn struct {
	phase     Phase
	replyLost bool
}

// stuckPhase returns what failed saga sagaID is stuck on.
func stuckPhase(ctx context.Context, tx *sqldb.Tx, sagaID string) (stuckOn, error) {
	var p, ev string
	err := tx.QueryRowContext(ctx, `SELECT phase, event FROM saga_history WHERE saga_id = $1 AND event IN ($2, $3)
		ORDER BY id DESC LIMIT 1`, sagaID, EventStuck, EventStuckReply).Scan(&p, &ev)
	if errors.Is(err, sql.ErrNoRows) {
		return stuckOn{phase: PhaseCompensation}, nil
	}
	if err != nil {
		return stuckOn{}, fmt.Errorf("saga: stuck phase of %s: %w", sagaID, err)
	}
	s := stuckOn{phase: PhaseCompensation, replyLost: ev == EventStuckReply}
	if Phase(p) == PhaseAction {
		s.phase = PhaseAction
	}
	return s, nil
}
