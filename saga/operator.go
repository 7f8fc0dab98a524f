package saga

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/sqldb"
)

// Operator actions. They run in the caller's transaction, record an
// "operator" history entry with the reason, and return ErrInvalidState
// when the saga's status does not allow them. They are the hooks for the
// stuck-saga tooling (causeway sagas, /v1/sagas).
//
// A failed (stuck) saga is stuck either on a compensation (it failed or
// timed out too often) or, when MarkStuck stopped it because a
// participant dead-lettered its command, possibly on an action: the phase
// of its last "stuck" history entry says which.

// Compensate aborts a running saga, or one stuck on an action: it starts
// compensating from the current step (whose action may have taken
// effect), e.g. on a customer's cancellation. Any other saga gives
// ErrInvalidState.
func (o *Orchestrator) Compensate(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "compensate", reason, func(st Status, stuck Phase) bool {
		return st == StatusRunning || (st == StatusFailed && stuck == PhaseAction)
	}, func(c *change, _ Phase) {
		c.compensate(c.st.Step, reason)
	})
}

// Retry sends the command a failed (stuck) saga is stuck on again, with a
// fresh attempt count: the compensation (the saga is compensating again),
// or, for a saga stuck on an action, the action (the saga is running
// again).
func (o *Orchestrator) Retry(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "retry", reason, failed, func(c *change, stuck Phase) {
		c.st.Status = StatusCompensating
		if stuck == PhaseAction {
			c.st.Status, c.st.Reason = StatusRunning, ""
		}
		c.st.Attempt = 1
	})
}

// Skip gives up the command a failed (stuck) saga is stuck on. A
// compensation is taken as done by hand, and the saga goes on with the
// previous steps' compensations. An action (dead-lettered, so it took no
// effect) is abandoned: the saga compensates the steps before it.
func (o *Orchestrator) Skip(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "skip", reason, failed, func(c *change, stuck Phase) {
		if stuck == PhaseAction {
			c.history = append(c.history, HistoryEntry{At: c.now, Step: c.st.Step, StepName: c.step().Name,
				Phase: PhaseAction, Event: EventSkipped, CommandID: c.st.CommandID, Reason: "operator: " + reason})
			c.compensate(c.st.Step-1, fmt.Sprintf("step %s skipped by an operator: %s", c.step().Name, reason))
			return
		}
		c.record(EventSkipped, c.st.CommandID, "operator: "+reason)
		c.st.Status = StatusCompensating
		c.st.Step--
		c.st.Attempt = 1
	})
}

func failed(st Status, _ Phase) bool { return st == StatusFailed }

func (o *Orchestrator) operate(ctx context.Context, tx *sqldb.Tx, sagaID, action, reason string,
	allowed func(Status, Phase) bool, apply func(*change, Phase)) error {
	st, def, err := o.load(ctx, tx, sagaID)
	if err != nil {
		return err
	}
	stuck := Phase("")
	if st.Status == StatusFailed {
		if stuck, err = stuckPhase(ctx, tx, sagaID); err != nil {
			return err
		}
	}
	if !allowed(st.Status, stuck) {
		desc := string(st.Status)
		if stuck != "" {
			desc += " (stuck on a " + string(stuck) + ")"
		}
		return fmt.Errorf("%w: %s saga %s: status is %s", ErrInvalidState, action, sagaID, desc)
	}
	c := o.newChange(st, def)
	c.history = append(c.history, HistoryEntry{At: c.now, Step: st.Step, StepName: c.step().Name,
		Phase: opPhase(st.Status, stuck), Event: EventOperator, Reason: action + ": " + reason})
	causation := st.CommandID
	apply(c, stuck)
	o.dispatch(ctx, c, causation)
	_, err = o.save(ctx, tx, c)
	return err
}

// opPhase is the phase of an operator entry: the stuck phase of a failed
// saga, else that of its status.
func opPhase(st Status, stuck Phase) Phase {
	if stuck != "" {
		return stuck
	}
	return phaseOf(st)
}
