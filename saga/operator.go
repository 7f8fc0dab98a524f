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
// participant dead-lettered its command or MarkReplyStuck because the
// orchestrator dead-lettered the reply, possibly on an action: the phase
// of its last "stuck" or "stuck-reply" history entry says which, and the
// event whether the command may have taken effect (a lost reply).

// Compensate aborts a running saga, or one stuck on an action: it starts
// compensating from the current step (whose action may have taken
// effect), e.g. on a customer's cancellation. Any other saga gives
// ErrInvalidState.
func (o *Orchestrator) Compensate(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "compensate", reason, func(st Status, stuck Phase) bool {
		return st == StatusRunning || (st == StatusFailed && stuck == PhaseAction)
	}, func(c *change, _ stuckOn) {
		c.compensate(c.st.Step, reason)
	})
}

// Retry sends the command a failed (stuck) saga is stuck on again, with a
// fresh attempt count: the compensation (the saga is compensating again),
// or, for a saga stuck on an action, the action (the saga is running
// again).
func (o *Orchestrator) Retry(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "retry", reason, failed, func(c *change, stuck stuckOn) {
		c.st.Status = StatusCompensating
		if stuck.phase == PhaseAction {
			c.st.Status, c.st.Reason = StatusRunning, ""
		}
		c.st.Attempt = 1
	})
}

// Skip gives up the command a failed (stuck) saga is stuck on. A
// compensation is taken as done by hand, and the saga goes on with the
// previous steps' compensations. An action is abandoned: when the action
// itself was dead-lettered (it took no effect) the saga compensates the
// steps before it; when its reply was (MarkReplyStuck: it may have taken
// effect) the saga compensates that step too.
func (o *Orchestrator) Skip(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "skip", reason, failed, func(c *change, stuck stuckOn) {
		if stuck.phase == PhaseAction {
			c.history = append(c.history, HistoryEntry{At: c.now, Step: c.st.Step, StepName: c.step().Name,
				Phase: PhaseAction, Event: EventSkipped, CommandID: c.st.CommandID, Reason: "operator: " + reason})
			from := c.st.Step - 1
			if stuck.replyLost {
				from = c.st.Step
			}
			c.compensate(from, fmt.Sprintf("step %s skipped by an operator: %s", c.step().Name, reason))
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
	allowed func(Status, Phase) bool, apply func(*change, stuckOn)) error {
	st, def, err := o.load(ctx, tx, sagaID)
	if err != nil {
		return err
	}
	var on stuckOn
	if st.Status == StatusFailed {
		if on, err = stuckPhase(ctx, tx, sagaID); err != nil {
			return err
		}
	}
	stuck := on.phase
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
	apply(c, on)
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
