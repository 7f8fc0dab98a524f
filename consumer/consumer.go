package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/sqldb"
)

// Message is one consumed event as a Handler sees it: the decoded, upcast
// envelope plus where it came from.
type Message struct {
	// Envelope is the event, validated and upcast to the current version.
	Envelope event.Envelope
	// Topic, Partition and Offset locate the record on the bus.
	Topic     string
	Partition int32
	Offset    int64
	// Key is the record key (the partition key; the unit of ordering).
	Key string
	// Headers are the record headers (traceparent, ce_* attributes, …).
	Headers []kgo.RecordHeader
	// Timestamp is the record's timestamp.
	Timestamp time.Time
	// Attempt is 1 on the first delivery to the handler and counts up on
	// each retry of the same record by this runner.
	Attempt int
	// Value is the raw record value the envelope was decoded from.
	Value []byte
}

// Handler handles one message inside a database transaction.
//
// Handle runs inside tx, which usually holds other messages of the same
// batch too: when it returns an error, every write it made through tx is
// rolled back (the runner rolls the transaction back, or back to the
// message's savepoint) and the message is retried later (or
// dead-lettered); when it returns nil, its writes commit together with the
// processed-event row, before the offset is committed. Handle must do all
// its database work through tx, and must not Commit or Rollback it. When a
// transaction is rolled back (another message in it failed, or a database
// error), its messages are handed to Handle again in a new transaction
// with the same Attempt; only the writes of the committed one count.
//
// Concurrency: Handle is called concurrently for different partitions and,
// within a partition, for different lanes (key-hash groups); calls for one
// key never overlap and come in offset order. ctx is cancelled only when a
// shutdown overruns its bound.
type Handler interface {
	Handle(ctx context.Context, tx *sqldb.Tx, m *Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, tx *sqldb.Tx, m *Message) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, tx *sqldb.Tx, m *Message) error {
	return f(ctx, tx, m)
}

// Middleware wraps a Handler with one policy.
type Middleware func(Handler) Handler

// Chain wraps h with mws; the first middleware is the outermost.
func Chain(h Handler, mws ...Middleware) Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// Decoder turns a record value into a validated, upcast envelope.
// *event.Codec implements it. Decode must be safe for concurrent use and
// deterministic: the runner dead-letters a record whose value fails to
// decode at once, without retries. Errors should match event.ErrMalformed,
// event.ErrUnknownType, event.ErrUnknownVersion or event.ErrUpcast.
type Decoder interface {
	Decode(value []byte) (event.Envelope, error)
}

// ErrRunning is returned by Run when the Runner is already running or has
// run before; a Runner runs once.
var ErrRunning = errors.New("consumer: runner already started")

// ErrConfig is matched by the error New returns for invalid arguments.
var ErrConfig = errors.New("consumer: invalid configuration")
