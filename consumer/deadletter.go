package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
)

// DeadLetterTopic returns the dead-letter topic of a consumer group:
// "dlq.<group>".
func DeadLetterTopic(group string) string { return "dlq." + group }

// Dead-letter record headers. A dead letter carries the original record's
// key, value and headers, plus these.
const (
	HeaderTopic        = "causeway-dlq-topic"         // original topic
	HeaderPartition    = "causeway-dlq-partition"     // original partition
	HeaderOffset       = "causeway-dlq-offset"        // original offset
	HeaderGroup        = "causeway-dlq-group"         // consumer group that gave up
	HeaderError        = "causeway-dlq-error"         // last error text
	HeaderErrorKind    = "causeway-dlq-error-kind"    // see the Kind* constants
	HeaderErrorClass   = "causeway-dlq-error-class"   // "decode" or "handler"
	HeaderAttempts     = "causeway-dlq-attempts"      // handler attempts so far, decimal
	HeaderFirstFailure = "causeway-dlq-first-failure" // RFC 3339, milliseconds, UTC
	HeaderLastFailure  = "causeway-dlq-last-failure"  // RFC 3339, milliseconds, UTC
	HeaderLetterID     = "causeway-dlq-letter-id"     // group/topic/partition/offset
)

// Error kinds in HeaderErrorKind.
const (
	KindMalformed      = "malformed"       // decode: not a valid envelope
	KindUnknownType    = "unknown-type"    // decode: event type not registered
	KindUnknownVersion = "unknown-version" // decode: version not known
	KindUpcast         = "upcast"          // decode: an upcaster failed
	KindContract       = "contract"        // decode: type or source not allowed on its topic (WithContracts)
	KindPanic          = "panic"           // handler panicked
	KindPermanent      = "permanent"       // handler returned Permanent(err)
	KindError          = "error"           // handler failed MaxAttempts times
)

// Error classes in HeaderErrorClass.
const (
	ClassDecode  = "decode"
	ClassHandler = "handler"
)

// LetterID returns the deterministic id of the dead letter of one record:
// "group/topic/partition/offset". A dead letter produced twice for the same
// record (after a crash between the produce and the park transaction, or
// when a replay fails again) carries the same id.
func LetterID(group, topic string, partition int32, offset int64) string {
	return group + "/" + topic + "/" + strconv.FormatInt(int64(partition), 10) + "/" + strconv.FormatInt(offset, 10)
}

// classify returns the kind and class of a failure.
func classify(err error) (kind, class string) {
	var pe *PanicError
	switch {
	case errors.Is(err, event.ErrMalformed):
		return KindMalformed, ClassDecode
	case errors.Is(err, event.ErrUnknownType):
		return KindUnknownType, ClassDecode
	case errors.Is(err, event.ErrUnknownVersion):
		return KindUnknownVersion, ClassDecode
	case errors.Is(err, event.ErrUpcast):
		return KindUpcast, ClassDecode
	case errors.Is(err, event.ErrContract):
		return KindContract, ClassDecode
	case errors.As(err, &pe):
		return KindPanic, ClassHandler
	case IsPermanent(err):
		return KindPermanent, ClassHandler
	}
	return KindError, ClassHandler
}

// failure is everything a dead letter says about one record.
type failure struct {
	topic     string
	partition int32
	offset    int64
	key       []byte
	value     []byte
	headers   []kgo.RecordHeader // the original headers, without causeway-dlq-*
	timestamp time.Time
	err       error
	decodeErr bool
	attempts  int
	firstFail time.Time
	lastFail  time.Time
}

func fmtTime(t time.Time) string { return t.UTC().Format(event.TimeLayout) }

// maxErrorHeader bounds the error text in a header (panics carry stacks).
const maxErrorHeader = 8 << 10

// letter builds the dead-letter record of f for group.
func letter(group string, f failure) *kgo.Record {
	kind, class := classify(f.err)
	if f.decodeErr && class != ClassDecode {
		kind, class = KindMalformed, ClassDecode
	}
	msg := f.err.Error()
	if len(msg) > maxErrorHeader {
		msg = msg[:maxErrorHeader]
	}
	hs := make([]kgo.RecordHeader, 0, len(f.headers)+11)
	hs = append(hs, f.headers...)
	add := func(k, v string) { hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
	add(HeaderTopic, f.topic)
	add(HeaderPartition, strconv.FormatInt(int64(f.partition), 10))
	add(HeaderOffset, strconv.FormatInt(f.offset, 10))
	add(HeaderGroup, group)
	add(HeaderError, msg)
	add(HeaderErrorKind, kind)
	add(HeaderErrorClass, class)
	add(HeaderAttempts, strconv.Itoa(f.attempts))
	add(HeaderFirstFailure, fmtTime(f.firstFail))
	add(HeaderLastFailure, fmtTime(f.lastFail))
	add(HeaderLetterID, LetterID(group, f.topic, f.partition, f.offset))
	return &kgo.Record{
		Topic:   DeadLetterTopic(group),
		Key:     f.key,
		Value:   f.value,
		Headers: hs,
	}
}

// produceLetter publishes the dead letter synchronously (the client's acks,
// all by default, apply) and returns its letter id.
func (r *Runner) produceLetter(ctx context.Context, f failure) (string, error) {
	rec := letter(r.group, f)
	if err := r.client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		return "", fmt.Errorf("consumer: produce dead letter to %s: %w", rec.Topic, err)
	}
	r.metrics.deadLetters.Add(1)
	id := LetterID(r.group, f.topic, f.partition, f.offset)
	r.log.Warn("consumer: dead-lettered", "group", r.group, "letter", id,
		"attempts", f.attempts, "error", f.err)
	return id, nil
}

// Header returns the value of the last header named key, and whether there
// is one.
func Header(hs []kgo.RecordHeader, key string) (string, bool) {
	for i := len(hs) - 1; i >= 0; i-- {
		if hs[i].Key == key {
			return string(hs[i].Value), true
		}
	}
	return "", false
}

// originalHeaders returns hs without the runner's own dead-letter and
// replay headers.
func originalHeaders(hs []kgo.RecordHeader) []kgo.RecordHeader {
	out := make([]kgo.RecordHeader, 0, len(hs))
	for _, h := range hs {
		if strings.HasPrefix(h.Key, "causeway-dlq-") || h.Key == HeaderAction || h.Key == HeaderReason {
			continue
		}
		out = append(out, h)
	}
	return out
}
