package projection

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// Projection builds one read model from events.
//
// Apply is called from one goroutine at a time, in offset order per
// partition, inside the transaction that also records the projection's
// position; it must write only through tx and only to the projection's own
// tables, named with t (so that a rebuild writes the shadow copy). It must
// not produce to Kafka or call other services: rebuilds replay every event
// again, and a read model has no side effects. An Apply error rolls the
// whole batch back; see the package documentation for the retry and poison
// policy. ctx is cancelled when the runner stops.
type Projection interface {
	// Name identifies the projection: 1–40 characters of [a-z0-9_],
	// starting with a letter, without "__". It keys the checkpoints.
	Name() string
	// Topics lists the topics the projection reads.
	Topics() []string
	// Apply applies one decoded event to the read model.
	Apply(ctx context.Context, tx *sqldb.Tx, t Tables, m Message) error
}

// Schema is an optional capability of a Projection, found by type
// assertion, that lets the runner create its tables and lets Rebuild build
// a shadow copy and swap it in. Rebuild requires it.
type Schema interface {
	// TableNames lists the logical names of every table the projection
	// owns (same rules as Projection.Name).
	TableNames() []string
	// Setup creates those tables and their indexes in tx, naming tables
	// t.Name(logical) and indexes t.Index(logical). The runner calls it
	// once for the live tables (the first time it runs) and Rebuild once
	// per rebuild for the shadow tables.
	Setup(ctx context.Context, tx *sqldb.Tx, t Tables) error
}

// Tables maps a projection's logical table names to physical ones: the
// live tables carry the logical name itself, the shadow copy of a rebuild
// the suffix "__shadow" until the swap renames it. Index names carry the
// generation of the build ("__g<N>"), because an index keeps its name when
// its table is renamed. The zero value names the live tables.
type Tables struct {
	shadow     bool
	generation int64
}

// Name returns the physical name of the logical table.
func (t Tables) Name(logical string) string {
	if t.shadow {
		return logical + shadowSuffix
	}
	return logical
}

// Index returns a physical name for an index (or a named constraint) that
// stays unique across rebuilds.
func (t Tables) Index(logical string) string {
	g := t.generation
	if g < 1 {
		g = 1
	}
	return logical + "__g" + strconv.FormatInt(g, 10)
}

// Shadow reports whether t names a rebuild's shadow tables.
func (t Tables) Shadow() bool { return t.shadow }

const shadowSuffix = "__shadow"

// Message is one event as a projection sees it: the decoded, upcast
// envelope and where it was read.
type Message struct {
	// Envelope is the event, upcast to the current version of its type.
	Envelope event.Envelope
	// Topic, Partition and Offset locate the Kafka record. For an event
	// replayed from an event store (a History), Topic is the topic the
	// history stands for, Partition is -1 and Offset is the store's global
	// position.
	Topic     string
	Partition int32
	Offset    int64
	// Key is the record's key (nil for events from a History).
	Key []byte
	// Timestamp is the record's timestamp (the store's commit time for a
	// History).
	Timestamp time.Time
}

// Decoder turns record values into validated, upcast envelopes, and brings
// stored envelopes to the current version. *event.Codec implements it. It
// must be safe for concurrent use; errors should match event.ErrMalformed,
// event.ErrUnknownType, event.ErrUnknownVersion or event.ErrUpcast.
type Decoder interface {
	Decode(value []byte) (event.Envelope, error)
	Upcast(e event.Envelope) (event.Envelope, error)
}

var _ Decoder = (*event.Codec)(nil)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrInvalid: a projection, table name, option or token is invalid.
	ErrInvalid = errors.New("projection: invalid")
	// ErrRunning: Run was called on a runner that is running or has run.
	ErrRunning = errors.New("projection: runner already started")
	// ErrStale: WaitFor ran out of time before the projection reached the
	// position; the read model is older than the caller's write.
	ErrStale = errors.New("projection: read model is stale")
	// ErrNoSchema: Rebuild needs a projection implementing Schema.
	ErrNoSchema = errors.New("projection: projection does not implement Schema")
	// ErrHistoryTruncated: a rebuild from the topics alone would miss
	// events because a partition no longer starts at offset 0; pass a
	// History (the event store) or WithAllowTruncated.
	ErrHistoryTruncated = errors.New("projection: topic history truncated by retention")
	// ErrPoison: an event could not be applied after the retries; the
	// error wraps the cause and is a *PoisonError.
	ErrPoison = errors.New("projection: event cannot be applied")
)

// PoisonError describes an event the projection could not apply.
type PoisonError struct {
	Projection string
	Topic      string
	Partition  int32
	Offset     int64
	EventID    string
	Attempts   int
	Err        error
}

func (e *PoisonError) Error() string {
	return fmt.Sprintf("projection %s: %s/%d@%d (event %q) failed %d times: %v",
		e.Projection, e.Topic, e.Partition, e.Offset, e.EventID, e.Attempts, e.Err)
}

// Is makes errors.Is(err, ErrPoison) true.
func (e *PoisonError) Is(target error) bool { return target == ErrPoison }

// Unwrap returns the cause.
func (e *PoisonError) Unwrap() error { return e.Err }

var identRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// validIdent checks a projection or logical table name.
func validIdent(kind, s string) error {
	if !identRE.MatchString(s) || containsDouble(s) {
		return fmt.Errorf("%w: %s %q: want 1–40 of [a-z0-9_], starting with a letter, without \"__\"", ErrInvalid, kind, s)
	}
	return nil
}

func containsDouble(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '_' && s[i+1] == '_' {
			return true
		}
	}
	return false
}

// validate checks p and returns its Schema, if any.
func validate(p Projection) (Schema, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: nil projection", ErrInvalid)
	}
	var errs []error
	if err := validIdent("projection name", p.Name()); err != nil {
		errs = append(errs, err)
	}
	if len(p.Topics()) == 0 {
		errs = append(errs, fmt.Errorf("%w: projection %q reads no topics", ErrInvalid, p.Name()))
	}
	s, _ := p.(Schema)
	if s != nil {
		for _, n := range s.TableNames() {
			if err := validIdent("table name", n); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return s, errors.Join(errs...)
}
