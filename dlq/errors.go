package dlq

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error the package returns for one of these
// conditions matches the sentinel with errors.Is.
var (
	// ErrInvalidFilter is matched by every *FilterError.
	ErrInvalidFilter = errors.New("dlq: invalid filter")
	// ErrInvalidID is returned for a letter id that is not
	// group/topic/partition/offset.
	ErrInvalidID = errors.New("dlq: invalid letter id")
	// ErrNotFound is returned when no dead letter has the given id.
	ErrNotFound = errors.New("dlq: letter not found")
	// ErrLoopGuard is matched by every *LoopGuardError.
	ErrLoopGuard = errors.New("dlq: replay refused by the loop guard")
	// ErrReasonRequired is returned by Discard without a reason.
	ErrReasonRequired = errors.New("dlq: a reason is required")
	// ErrNoSelection is returned by Replay without ids, filter or job.
	ErrNoSelection = errors.New("dlq: nothing selected")
	// ErrNoAudit is returned by operations that need the audit log
	// (resuming a job) when the Inspector has none.
	ErrNoAudit = errors.New("dlq: no audit log configured")
	// ErrJobNotFound is returned when resuming an unknown bulk job.
	ErrJobNotFound = errors.New("dlq: replay job not found")
)

// FilterError describes one invalid filter parameter. ParseFilter and
// Filter.Validate return all of them joined with errors.Join.
type FilterError struct {
	// Field is the parameter name ("since", "limit", …).
	Field string
	// Value is the offending value, as given.
	Value string
	// Reason says what is wrong.
	Reason string
}

// Error implements error.
func (e *FilterError) Error() string {
	return fmt.Sprintf("dlq: filter %s=%s: %s", e.Field, strconv.Quote(e.Value), e.Reason)
}

// Is reports whether target is ErrInvalidFilter.
func (e *FilterError) Is(target error) bool { return target == ErrInvalidFilter }

// LoopGuardError says a letter was not replayed because it has been
// replayed Limit times already; replay it with Force to override.
type LoopGuardError struct {
	// LetterID is the refused letter.
	LetterID string
	// Replays is how many times it was replayed already.
	Replays int
	// Limit is the configured maximum (WithMaxReplays).
	Limit int
}

// Error implements error.
func (e *LoopGuardError) Error() string {
	return fmt.Sprintf("dlq: letter %s was replayed %d times (limit %d); replay with force to override",
		e.LetterID, e.Replays, e.Limit)
}

// Is reports whether target is ErrLoopGuard.
func (e *LoopGuardError) Is(target error) bool { return target == ErrLoopGuard }
