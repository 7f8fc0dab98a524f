package eventstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/outbox"
)

// Expected-version sentinels for Append.
const (
	// Any skips the concurrency check.
	Any int64 = -1
	// NoStream requires that the stream has no events yet.
	NoStream int64 = 0
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrConflict: the stream's version was not the expected one. The error
	// is a *ConflictError carrying the actual version.
	ErrConflict = errors.New("eventstore: version conflict")
	// ErrDuplicateEvent: an event id is already stored, and the append is
	// not an exact repeat of an earlier append (see Store.Append).
	ErrDuplicateEvent = errors.New("eventstore: duplicate event id")
	// ErrNotFound: the stream has no events (at that time, for LoadAt).
	ErrNotFound = errors.New("eventstore: stream not found")
	// ErrNoSnapshot: the stream has no snapshot.
	ErrNoSnapshot = errors.New("eventstore: no snapshot")
	// ErrInvalid: the arguments are invalid (empty stream id, no events,
	// an event without id, type or timestamp, data that is not JSON, an id
	// twice in one append, expectedVersion < Any, …).
	ErrInvalid = errors.New("eventstore: invalid argument")
)

// ConflictError reports an optimistic-concurrency failure.
type ConflictError struct {
	Stream   string
	Expected int64
	Actual   int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventstore: stream %q at version %d, expected %d", e.Stream, e.Actual, e.Expected)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Record is one stored event.
type Record struct {
	// StreamID is the stream the event belongs to (e.g. "order-<id>").
	StreamID string
	// Version is the event's 1-based position in its stream.
	Version int64
	// Position is the event's position in the global log: strictly
	// increasing in commit order and dense (1, 2, 3, … with no holes; a
	// rolled-back append consumes no positions).
	Position int64
	// RecordedAt is when the store committed the event.
	RecordedAt time.Time
	// Event is the envelope as appended, with Timestamp in UTC. Stores keep
	// Timestamp to at least the microsecond (envelopes carry milliseconds).
	Event event.Envelope
}

// AppendResult describes a successful append.
type AppendResult struct {
	// Version is the stream's version after the append.
	Version int64
	// FirstPosition and LastPosition are the global positions of the first
	// and last appended event.
	FirstPosition, LastPosition int64
}

// Snapshot is a serialised aggregate state at a stream version.
type Snapshot struct {
	StreamID string
	// Version is the stream version the state includes.
	Version int64
	// Type names the state's shape and version, e.g. "order/v1"; a reader
	// that does not know it ignores the snapshot and loads all events.
	Type string
	// Data is the serialised state.
	Data []byte
	// CreatedAt is when the snapshot was taken.
	CreatedAt time.Time
}

// AppendOption configures one Append.
type AppendOption interface{ applyAppend(*AppendOptions) }

// AppendOptions is the resolved set of append options; implementations of
// Store read it with ResolveAppendOptions.
type AppendOptions struct {
	// Outbox rows to insert in the same transaction as the events.
	Outbox []outbox.Message
}

type appendOptionFunc func(*AppendOptions)

func (f appendOptionFunc) applyAppend(o *AppendOptions) { f(o) }

// WithOutbox writes msgs to the outbox in the same transaction as the
// appended events: both are committed, or neither.
func WithOutbox(msgs ...outbox.Message) AppendOption {
	return appendOptionFunc(func(o *AppendOptions) { o.Outbox = append(o.Outbox, msgs...) })
}

// ResolveAppendOptions applies opts and returns the result.
func ResolveAppendOptions(opts ...AppendOption) AppendOptions {
	var o AppendOptions
	for _, opt := range opts {
		if opt != nil {
			opt.applyAppend(&o)
		}
	}
	return o
}

// Store is an append-only event store.
//
// All methods are safe for concurrent use and honour ctx cancellation.
type Store interface {
	// Append atomically appends events to streamID if the stream is at
	// expectedVersion (or expectedVersion is Any). On a mismatch it returns
	// a *ConflictError (errors.Is ErrConflict) carrying the actual version
	// and stores nothing.
	//
	// Idempotency: an exact repeat of an earlier append is a no-op that
	// returns the original AppendResult (a retried append after a lost
	// reply), whatever the stream's version is now, and writes nothing
	// (not even WithOutbox rows). An exact repeat means: every event id is
	// already stored in streamID, in the same order at consecutive
	// versions, each with the same type, version, timestamp, data and
	// metadata, and, unless expectedVersion is Any, the first of them at
	// version expectedVersion+1. Any other reuse of a stored event id fails
	// with ErrDuplicateEvent and stores nothing.
	//
	// Invalid arguments fail with ErrInvalid before anything is written.
	Append(ctx context.Context, streamID string, expectedVersion int64, events []event.Envelope, opts ...AppendOption) (AppendResult, error)

	// Load returns the stream's events with Version > afterVersion, in
	// order. A stream with no events gives ErrNotFound when afterVersion is
	// 0, and an empty slice otherwise.
	Load(ctx context.Context, streamID string, afterVersion int64) ([]Record, error)

	// LoadAt returns the stream's events whose Timestamp is at or before
	// at, in order; ErrNotFound if there are none.
	LoadAt(ctx context.Context, streamID string, at time.Time) ([]Record, error)

	// ReadAll returns up to limit (≥ 1) events with Position > from (≥ 0),
	// in Position order. Positions are assigned in commit order, so a
	// reader that polls with the last position it saw never misses an
	// event committed later.
	ReadAll(ctx context.Context, from int64, limit int) ([]Record, error)

	// SaveSnapshot stores s as the stream's latest snapshot (replacing an
	// older one or one at the same version; a snapshot older than the
	// stored one is ignored). StreamID and Type must be set and Version
	// be ≥ 1 (ErrInvalid otherwise); a zero CreatedAt means now.
	SaveSnapshot(ctx context.Context, s Snapshot) error

	// LoadSnapshot returns the stream's latest snapshot, or ErrNoSnapshot.
	LoadSnapshot(ctx context.Context, streamID string) (Snapshot, error)
}

// CorrelationReader is an optional capability of a Store, found by type
// assertion: reading every event of one flow, for tracing.
//
// Implementations are safe for concurrent use and honour ctx cancellation.
type CorrelationReader interface {
	// ReadCorrelation returns every stored event whose
	// Metadata.CorrelationID is correlationID, in Position order (an empty
	// slice when there is none).
	ReadCorrelation(ctx context.Context, correlationID string) ([]Record, error)
}
