package saga

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them (match
// with errors.Is).
var (
	// ErrInvalidDefinition: a Definition failed Validate.
	ErrInvalidDefinition = errors.New("saga: invalid definition")
	// ErrUnknownDefinition: no definition of that name was given to New.
	ErrUnknownDefinition = errors.New("saga: unknown definition")
	// ErrNotFound: no saga with that id.
	ErrNotFound = errors.New("saga: not found")
	// ErrConflict: the saga changed between read and write (optimistic
	// concurrency); the caller retries (the consumer runner does).
	ErrConflict = errors.New("saga: concurrent update")
	// ErrBadReply: a reply whose data has no valid outcome. It can never
	// become valid, so the consumer adapter dead-letters it.
	ErrBadReply = errors.New("saga: malformed reply")
	// ErrBadCommand: an Action or Compensation returned an error or an
	// unusable Command (no topic, unencodable data).
	ErrBadCommand = errors.New("saga: bad command")
	// ErrInvalidState: an operator action on a saga whose status does not
	// allow it.
	ErrInvalidState = errors.New("saga: invalid state for this operation")
	// ErrInvalidArgument: an empty id or similar.
	ErrInvalidArgument = errors.New("saga: invalid argument")
)

// StepError reports a failed Action or Compensation of one step. It
// matches ErrBadCommand.
type StepError struct {
	SagaID string
	Step   string
	Phase  Phase
	Err    error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("saga %s: step %q %s: %v", e.SagaID, e.Step, e.Phase, e.Err)
}

// Unwrap returns the underlying error.
func (e *StepError) Unwrap() error { return e.Err }

// Is makes a StepError match ErrBadCommand.
func (e *StepError) Is(target error) bool { return target == ErrBadCommand }
