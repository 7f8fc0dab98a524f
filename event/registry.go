package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// MaxNameLen is the longest event type name, event id, correlation id,
// causation id and source accepted, in bytes.
const MaxNameLen = 128

// Upcaster converts the data of one event type from version From to version
// From+1. Up receives a JSON object and must return a JSON object; it must
// not keep or modify its argument. It may be called concurrently.
type Upcaster struct {
	// From is the version Up reads; Up produces version From+1.
	From int
	// Up converts the data.
	Up func(data json.RawMessage) (json.RawMessage, error)
}

// typeInfo is what the registry knows about one event type.
type typeInfo struct {
	latest int
	oldest int
	// chain[v-oldest] upcasts v to v+1.
	chain []Upcaster
}

// Registry knows, per event type, the current (latest) version and the chain
// of upcasters from older versions to it.
//
// Register types at start-up; a Registry is safe for concurrent use, so
// registering later is allowed but rarely useful. There is no global
// registry: each service builds its own and passes it to NewCodec.
type Registry struct {
	mu    sync.RWMutex
	types map[string]typeInfo
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{types: make(map[string]typeInfo)}
}

// Register declares eventType with its current version and the upcasters
// that bring older versions up to it.
//
// upcasters must form one contiguous chain in ascending order ending at
// version-1: From = k, k+1, …, version-1 for some k ≥ 1. Versions below k
// are then unknown. With no upcasters only the current version is accepted.
// The type name must be 1–MaxNameLen bytes of visible ASCII (no spaces),
// version ≥ 1, every Up non-nil, and the type not yet registered; otherwise
// Register returns an error matching ErrRegistration and changes nothing.
func (r *Registry) Register(eventType string, version int, upcasters ...Upcaster) error {
	var problems []error
	if err := checkName(eventType); err != nil {
		problems = append(problems, fmt.Errorf("type name: %w", err))
	}
	if version < 1 {
		problems = append(problems, fmt.Errorf("version %d: must be ≥ 1", version))
	}
	if len(upcasters) > 0 && version >= 1 {
		first := version - len(upcasters)
		if first < 1 {
			problems = append(problems, fmt.Errorf("%d upcasters for version %d: a chain ends at version-1 and starts at ≥ 1", len(upcasters), version))
		}
		for i, u := range upcasters {
			if want := first + i; u.From != want {
				problems = append(problems, fmt.Errorf("upcaster %d: From = %d, want %d (the chain must be contiguous, ascending, and end at version-1 = %d)", i, u.From, want, version-1))
			}
			if u.Up == nil {
				problems = append(problems, fmt.Errorf("upcaster %d (v%d→v%d): Up is nil", i, u.From, u.From+1))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %q: %w", ErrRegistration, eventType, errors.Join(problems...))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.types[eventType]; dup {
		return fmt.Errorf("%w: %q is already registered", ErrRegistration, eventType)
	}
	r.types[eventType] = typeInfo{
		latest: version,
		oldest: version - len(upcasters),
		chain:  slices.Clone(upcasters),
	}
	return nil
}

// Latest returns the current version of eventType, and false if the type is
// not registered.
func (r *Registry) Latest(eventType string) (int, bool) {
	ti, ok := r.lookup(eventType)
	return ti.latest, ok
}

// Oldest returns the oldest version of eventType that can be upcast to the
// current one, and false if the type is not registered.
func (r *Registry) Oldest(eventType string) (int, bool) {
	ti, ok := r.lookup(eventType)
	return ti.oldest, ok
}

// Types returns the registered type names, sorted.
func (r *Registry) Types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func (r *Registry) lookup(eventType string) (typeInfo, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ti, ok := r.types[eventType]
	return ti, ok
}

// checkName accepts 1–MaxNameLen bytes of visible ASCII (0x21–0x7E).
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > MaxNameLen:
		return fmt.Errorf("%d bytes, longer than %d", len(s), MaxNameLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("byte %d (0x%02x) is not visible ASCII", i, c)
		}
	}
	return nil
}
