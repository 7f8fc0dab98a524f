package event

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; every error returned by
// Codec.Decode, Codec.Encode and Codec.Upcast is a *DecodeError whose Kind is
// one of the first four.
var (
	// ErrMalformed: the input is not a well-formed envelope (not a JSON
	// object, a missing or invalid field, an unknown field, data that is not
	// a JSON object, …).
	ErrMalformed = errors.New("event: malformed envelope")
	// ErrUnknownType: the event type is not registered.
	ErrUnknownType = errors.New("event: unknown event type")
	// ErrUnknownVersion: the version is newer than the registered current
	// version, or older than the oldest version an upcaster chain accepts.
	ErrUnknownVersion = errors.New("event: unknown event version")
	// ErrUpcast: an upcaster failed, panicked, or returned data that is not
	// a JSON object.
	ErrUpcast = errors.New("event: upcast failed")
	// ErrRegistration: Registry.Register was called with an invalid type
	// name, version or upcaster chain, or for a type already registered.
	ErrRegistration = errors.New("event: invalid registration")
)

// DecodeError describes why an envelope was rejected. errors.Is(err, Kind)
// is true, and errors.Unwrap gives the cause.
type DecodeError struct {
	// Kind is ErrMalformed, ErrUnknownType, ErrUnknownVersion or ErrUpcast.
	Kind error
	// EventType is the envelope's type, when it could be read.
	EventType string
	// Version is the envelope's version, when it could be read (for
	// ErrUpcast: the version the failing upcaster started from).
	Version int
	// Err is the cause; it names the offending field where there is one.
	Err error
}

// Error returns e.g. `event: unknown event version: order.placed v7: …`.
func (e *DecodeError) Error() string {
	kind := "event: decode failed"
	if e.Kind != nil {
		kind = e.Kind.Error()
	}
	s := kind
	if e.EventType != "" {
		s += ": " + fmt.Sprintf("%.128q", e.EventType)
		if e.Version > 0 {
			s += fmt.Sprintf(" v%d", e.Version)
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is the error's Kind.
func (e *DecodeError) Is(target error) bool { return target != nil && target == e.Kind }

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }
