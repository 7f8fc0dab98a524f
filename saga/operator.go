package saga

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/sqldb"
)

// Operator actions. They run in the caller's transaction, record an
// "operator" history entry with the reason, and return ErrInvalidState
// when the saga's status does not allow them. They are the hooks for the
// stuck-saga tooling (HTTP and CLI come with a later issue).

// Compensate aborts a running saga: it starts compensating from the current
// step (whose action may have taken effect), e.g. on a customer's
// cancellation. A saga that is not running gives ErrInvalidState.
func (o *Orchestrator) Compensate(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "compensate", reason, StatusRunning, func(c *change) {
		c.compensate(c.st.Step, reason)
	})
}

// Retry sends the compensation a failed (stuck) saga is stuck on again,
// with a fresh attempt count; the saga is compensating again.
func (o *Orchestrator) Retry(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "retry", reason, StatusFailed, func(c *change) {
		c.st.Status = StatusCompensating
		c.st.Attempt = 1
	})
}

// Skip gives up the compensation a failed (stuck) saga is stuck on (the
// operator undid it by hand) and goes on with the previous steps'
// compensations.
func (o *Orchestrator) Skip(ctx context.Context, tx *sqldb.Tx, sagaID, reason string) error {
	return o.operate(ctx, tx, sagaID, "skip", reason, StatusFailed, func(c *change) {
		c.record(EventSkipped, c.st.CommandID, "operator: "+reason)
		c.st.Status = StatusCompensating
		c.st.Step--
		c.st.Attempt = 1
	})
}

func (o *Orchestrator) operate(ctx context.Context, tx *sqldb.Tx, sagaID, action, reason string, want Status, apply func(*change)) error {
	st, def, err := o.load(ctx, tx, sagaID)
	if err != nil {
		return err
	}
	if st.Status != want {
		return fmt.Errorf("%w: %s saga %s: status is %s, want %s", ErrInvalidState, action, sagaID, st.Status, want)
	}
	c := o.newChange(st, def)
	c.record(EventOperator, "", action+": "+reason)
	causation := st.CommandID
	apply(c)
	o.dispatch(ctx, c, causation)
	_, err = o.save(ctx, tx, c)
	return err
}
