package saga

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/causeway-dev/causeway/sqldb"
)

// StatusStuck is the operators' name of StatusFailed, accepted by
// ParseStatus ("stuck" in the API, the CLI and the metrics).
const StatusStuck = "stuck"

// ParseStatus parses a status name; "stuck" means StatusFailed and ""
// means no status (all).
func ParseStatus(s string) (Status, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", nil
	}
	if s == StatusStuck {
		return StatusFailed, nil
	}
	for _, st := range Statuses {
		if string(st) == s {
			return st, nil
		}
	}
	return "", fmt.Errorf("%w: status %q, want one of running, compensating, completed, compensated, failed (stuck)", ErrInvalidArgument, s)
}

// Action is an operator action (Operate).
type Action string

// The operator actions: Retry, Skip and Compensate.
const (
	ActionRetry      Action = "retry"
	ActionSkip       Action = "skip"
	ActionCompensate Action = "compensate"
)

// ParseAction parses an action name.
func ParseAction(s string) (Action, error) {
	switch a := Action(strings.ToLower(strings.TrimSpace(s))); a {
	case ActionRetry, ActionSkip, ActionCompensate:
		return a, nil
	}
	return "", fmt.Errorf("%w: action %q, want retry, skip or compensate", ErrInvalidArgument, s)
}

// ErrReasonRequired: an operator action without a reason.
var ErrReasonRequired = errors.New("saga: a reason is required")

// operateAttempts bounds Operate's retries on ErrConflict.
const operateAttempts = 3

// Operate runs operator action a on saga id in its own transaction,
// retrying a concurrent update (ErrConflict) a few times, and returns the
// saga afterwards (with history). The reason is required; the operator,
// when given, is recorded with it in the saga's "operator" history entry,
// which is the action's durable audit record.
func (o *Orchestrator) Operate(ctx context.Context, a Action, id, operator, reason string) (*State, error) {
	if strings.TrimSpace(id) == "" {
		return nil, fmt.Errorf("%w: empty saga id", ErrInvalidArgument)
	}
	if strings.TrimSpace(reason) == "" {
		return nil, ErrReasonRequired
	}
	if operator != "" {
		reason = fmt.Sprintf("%s (by %s)", reason, operator)
	}
	var fn func(context.Context, *sqldb.Tx, string, string) error
	switch a {
	case ActionRetry:
		fn = o.Retry
	case ActionSkip:
		fn = o.Skip
	case ActionCompensate:
		fn = o.Compensate
	default:
		return nil, fmt.Errorf("%w: action %q", ErrInvalidArgument, a)
	}
	var err error
	for range operateAttempts {
		err = o.db.InTx(ctx, func(tx *sqldb.Tx) error { return fn(ctx, tx, id, reason) })
		if !errors.Is(err, ErrConflict) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	o.log.InfoContext(ctx, "saga operator action", "saga", id, "action", string(a), "reason", reason)
	return o.Get(ctx, id)
}
