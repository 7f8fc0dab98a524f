package saga

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// Definition is a named sequence of steps. Its Name is stored with every
// saga instance, so a definition must keep its name and the meaning of its
// step indexes as long as instances of it may be in flight (append new
// steps at the end, or use a new name).
type Definition struct {
	// Name identifies the definition, e.g. "order-fulfilment".
	Name string
	// Steps run in order; compensations of completed steps run in reverse.
	Steps []Step
	// OnTransition, if set, is called for every history entry a change of
	// a saga writes (step succeeded, failed, timed out, saga completed,
	// compensated, stuck, …), in order, inside the same transaction, after
	// the saga's row was updated. It is where the owner of the saga
	// records the outcome, e.g. appends order.paid or order.cancelled to the
	// order's stream. An error rolls the whole change back. It may run more
	// than once for one change if the transaction is retried.
	OnTransition func(ctx context.Context, tx *sqldb.Tx, s *State, e HistoryEntry) error
}

// Step is one participant interaction: an Action command whose reply
// decides whether the saga goes on, and an optional Compensation command
// that undoes it.
//
// Action and Compensation build the command from the saga's state; they
// run inside the orchestrator's transaction and must not do I/O. They may
// be called more than once for one step (retries, re-delivered replies
// that lose an optimistic-concurrency race), so they must be deterministic
// functions of the State.
type Step struct {
	// Name names the step in history and logs, e.g. "payment".
	Name string
	// Action builds the step's command. An error (or a Command without a
	// topic) fails the step: the saga compensates the steps before it.
	Action func(ctx context.Context, s *State) (Command, error)
	// Compensation builds the command that undoes the step; nil means there
	// is nothing to undo. An error marks the saga failed (stuck).
	//
	// Send it to the same topic and key as the Action: then a participant
	// sees a late action before its compensation (compensations of a timed-
	// out step are sent while the action may still be on its way).
	Compensation func(ctx context.Context, s *State) (Command, error)
	// OnSuccess, if set, runs on the step's success reply before the next
	// step's Action, typically to copy reply results (a payment id) into
	// the saga's data with State.SetData. An error fails the step; since
	// the action took effect, the step itself is compensated too.
	OnSuccess func(s *State, reply Reply) error
	// Timeout bounds the wait for the reply to this step's Action and to
	// its Compensation; 0 waits forever.
	Timeout time.Duration
	// Retries is how often a timed-out Action is sent again (with a new
	// command id) before the saga compensates. Participants must therefore
	// make an action idempotent per business key (charge an order once).
	Retries int
}

// Command is a message the orchestrator sends to a participant. It becomes
// an event envelope whose eventId is the command id, with the saga's
// correlationId and causationId = the event that triggered the step.
type Command struct {
	// Topic is the command topic, e.g. kafka.TopicCommandsPayment.
	Topic string
	// Key is the record key; empty means the saga's correlation id. Use the
	// entity id (the order id) so a participant handles one entity's
	// commands in order.
	Key string
	// Type is the command's event type, e.g. "payment.process".
	Type string
	// Version is the schema version of Data (0 means 1).
	Version int
	// Data is the command payload, marshalled to a JSON object
	// (json.RawMessage passes through).
	Data any
}

// Validate reports every problem of the definition, joined, each wrapping
// ErrInvalidDefinition.
func (d Definition) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalidDefinition, fmt.Sprintf(format, a...)))
	}
	if d.Name == "" {
		bad("empty name")
	}
	if len(d.Steps) == 0 {
		bad("definition %q has no steps", d.Name)
	}
	seen := map[string]bool{}
	for i, s := range d.Steps {
		if s.Name == "" {
			bad("definition %q step %d: empty name", d.Name, i)
		} else if seen[s.Name] {
			bad("definition %q: duplicate step name %q", d.Name, s.Name)
		}
		seen[s.Name] = true
		if s.Action == nil {
			bad("definition %q step %q: nil Action", d.Name, s.Name)
		}
		if s.Timeout < 0 {
			bad("definition %q step %q: negative timeout", d.Name, s.Name)
		}
		if s.Retries < 0 {
			bad("definition %q step %q: negative retries", d.Name, s.Name)
		}
	}
	return errors.Join(errs...)
}
