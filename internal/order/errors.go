package order

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrIllegalTransition: the command is not allowed in the order's
	// current state (HTTP 409). The error is a *TransitionError.
	ErrIllegalTransition = errors.New("order: illegal transition")
	// ErrInvalid: the command's input is invalid (HTTP 422). The error is a
	// *ValidationError listing every problem.
	ErrInvalid = errors.New("order: invalid input")
	// ErrNotFound: there is no such order (HTTP 404).
	ErrNotFound = errors.New("order: not found")
	// ErrExists: Repository.Create found the order's stream already there.
	ErrExists = errors.New("order: already exists")
	// ErrBadEvent: a stored or received order event could not be decoded.
	ErrBadEvent = errors.New("order: bad event")
	// ErrSnapshot: snapshot data has an unknown type or cannot be decoded.
	ErrSnapshot = errors.New("order: bad snapshot")
	// ErrTooManyConflicts: Repository.Update gave up after its retries,
	// because other writers kept changing the order. It wraps the last
	// eventstore.ErrConflict.
	ErrTooManyConflicts = errors.New("order: too many concurrent updates")
)

// TransitionError reports a command the order's state does not allow.
type TransitionError struct {
	// From is the order's status when the command ran ("" for an order
	// that was never placed).
	From Status
	// Command names the command: "place", "pay", "reserve", "ship" or
	// "cancel".
	Command string
	// Reason is the cancellation reason, for "cancel".
	Reason Reason
}

// Error returns e.g. "order: illegal transition: cannot ship an order that is placed".
func (e *TransitionError) Error() string {
	from := string(e.From)
	if from == "" {
		from = "not placed"
	}
	cmd := e.Command
	if e.Reason != "" {
		cmd += " (" + string(e.Reason) + ")"
	}
	return fmt.Sprintf("%v: cannot %s an order that is %s", ErrIllegalTransition, cmd, from)
}

// Unwrap returns ErrIllegalTransition.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

// FieldError is one problem with one input field.
type FieldError struct {
	// Field is a JSON path-like name, e.g. "items[2].quantity".
	Field string
	// Problem says what is wrong, e.g. "must be between 1 and 1000".
	Problem string
}

// Error returns "field: problem".
func (e FieldError) Error() string { return e.Field + ": " + e.Problem }

// ValidationError lists every problem found in a command's input.
type ValidationError struct {
	Problems []FieldError
}

// Error joins the problems, e.g. "order: invalid input: userId: required; items: …".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return ErrInvalid.Error() + ": " + strings.Join(parts, "; ")
}

// Is reports whether target is ErrInvalid.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Unwrap returns the problems, one error each.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// problems collects FieldErrors.
type problems []FieldError

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

// err returns nil or a *ValidationError.
func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}
