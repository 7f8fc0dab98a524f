package dlq

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
)

// HeaderReplayCount is the header a replay record carries: how many times
// the letter has been replayed, this replay included (decimal). The
// consumer copies a replayed record's headers into the new dead letter
// when the replay fails again, so the count travels with the letter and
// the loop guard sees it even without the audit log.
const HeaderReplayCount = "causeway-replay-count"

// Status is where a dead letter stands.
type Status string

// Statuses. Open and Parked are unresolved; the others are resolved (or
// about to be: a replay or discard has been requested after the letter's
// last failure).
const (
	// StatusOpen: no replay or discard requested since the last failure;
	// the group's database was not consulted, or the letter is of kind
	// "contract", which never parks its key.
	StatusOpen Status = "open"
	// StatusParked: the group's database says the key is parked behind
	// this letter and nothing has been requested since the last failure.
	StatusParked Status = "parked"
	// StatusReplayRequested and StatusDiscardRequested: requested after
	// the last failure, and the database (when given) still parks the key
	// behind the letter: the group has not applied it yet.
	StatusReplayRequested  Status = "replay-requested"
	StatusDiscardRequested Status = "discard-requested"
	// StatusReplayed and StatusDiscarded: requested after the last failure
	// and, when the database was given, applied (the key is no longer
	// parked behind the letter).
	StatusReplayed  Status = "replayed"
	StatusDiscarded Status = "discarded"
	// StatusResolved: the database says the key is not parked behind the
	// letter, and the audit log has no request for it (resolved by another
	// tool, or the letter was superseded).
	StatusResolved Status = "resolved"

	// StatusUnresolved and StatusResolved as Filter.Status select the two
	// families: open or parked, and everything else.
	StatusUnresolved Status = "unresolved"
)

var statuses = []Status{StatusOpen, StatusParked, StatusReplayRequested, StatusDiscardRequested,
	StatusReplayed, StatusDiscarded, StatusResolved}

func (s Status) valid() bool { return slices.Contains(statuses, s) }

func statusNames() []string {
	out := make([]string, 0, len(statuses)+1)
	for _, s := range statuses {
		out = append(out, string(s))
	}
	return append(out, string(StatusUnresolved))
}

// Resolved reports whether a replay or discard was requested or the key
// is no longer parked behind the letter.
func (s Status) Resolved() bool { return s != StatusOpen && s != StatusParked && s != "" }

// Header is one record header, its value as text.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Letter is one dead letter: the record a consumer group gave up on, and
// why. When a letter id occurs several times in the dead-letter topic (a
// replay that failed again, or a duplicate after a crash), List reports
// the latest occurrence.
type Letter struct {
	// ID is group/topic/partition/offset of the original record.
	ID    string `json:"id"`
	Group string `json:"group"`
	// OriginalTopic, Partition and Offset locate the original record.
	OriginalTopic string `json:"topic"`
	Partition     int32  `json:"partition"`
	Offset        int64  `json:"offset"`
	// Key and Value are the original record's.
	Key   string `json:"key"`
	Value string `json:"value"`
	// Headers are all headers of the dead letter, causeway-dlq-* included.
	Headers []Header `json:"headers"`
	// Error is the last error text; Kind and Class classify it (see the
	// consumer.Kind* and consumer.Class* constants).
	Error string `json:"error"`
	Kind  string `json:"kind"`
	Class string `json:"class"`
	// Attempts counts the handler attempts so far, replays included.
	Attempts     int       `json:"attempts"`
	FirstFailure time.Time `json:"firstFailure"`
	LastFailure  time.Time `json:"lastFailure"`
	// DLQPartition and DLQOffset locate the (latest) letter in
	// dlq.<group>.
	DLQPartition int32 `json:"dlqPartition"`
	DLQOffset    int64 `json:"dlqOffset"`
	// Occurrences is how many times the letter id occurs in the topic.
	Occurrences int `json:"occurrences"`
	// ReplayCount is how many times the letter was replayed: the larger of
	// its causeway-replay-count header and the audit log's count.
	ReplayCount int `json:"replayCount"`
	// Status says whether it is resolved; ParkedRecords is how many later
	// records of the key wait behind it (known only with the group's
	// database).
	Status        Status `json:"status"`
	ParkedRecords int    `json:"parkedRecords,omitempty"`

	rec *kgo.Record
}

// Record returns a copy of the dead-letter record as read from the topic.
func (l Letter) Record() *kgo.Record {
	if l.rec == nil {
		return nil
	}
	r := *l.rec
	r.Headers = slices.Clone(l.rec.Headers)
	return &r
}

// parseLetter reads a record of dlq.<group>. It returns false for a record
// that is not a Causeway dead letter (no letter id).
func parseLetter(group string, r *kgo.Record) (Letter, bool) {
	h := func(k string) string { v, _ := consumer.Header(r.Headers, k); return v }
	id := h(consumer.HeaderLetterID)
	if id == "" {
		return Letter{}, false
	}
	l := Letter{
		ID:            id,
		Group:         group,
		OriginalTopic: h(consumer.HeaderTopic),
		Key:           string(r.Key),
		Value:         string(r.Value),
		Error:         h(consumer.HeaderError),
		Kind:          h(consumer.HeaderErrorKind),
		Class:         h(consumer.HeaderErrorClass),
		DLQPartition:  r.Partition,
		DLQOffset:     r.Offset,
		Occurrences:   1,
		rec:           r,
	}
	if g := h(consumer.HeaderGroup); g != "" {
		l.Group = g
	}
	if p, err := strconv.ParseInt(h(consumer.HeaderPartition), 10, 32); err == nil {
		l.Partition = int32(p)
	}
	l.Offset, _ = strconv.ParseInt(h(consumer.HeaderOffset), 10, 64)
	l.Attempts, _ = strconv.Atoi(h(consumer.HeaderAttempts))
	l.FirstFailure = parseHeaderTime(h(consumer.HeaderFirstFailure))
	l.LastFailure = parseHeaderTime(h(consumer.HeaderLastFailure))
	if l.LastFailure.IsZero() {
		l.LastFailure = r.Timestamp.UTC()
	}
	l.ReplayCount, _ = strconv.Atoi(h(HeaderReplayCount))
	l.Headers = make([]Header, len(r.Headers))
	for i, hd := range r.Headers {
		l.Headers[i] = Header{Key: hd.Key, Value: string(hd.Value)}
	}
	l.Status = StatusOpen
	return l, true
}

func parseHeaderTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// ParseID splits a letter id into its parts.
func ParseID(id string) (group, topic string, partition int32, offset int64, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" {
		return "", "", 0, 0, &idError{id: id, reason: "want group/topic/partition/offset"}
	}
	p, perr := strconv.ParseInt(parts[2], 10, 32)
	o, oerr := strconv.ParseInt(parts[3], 10, 64)
	if perr != nil || oerr != nil || p < 0 || o < 0 {
		return "", "", 0, 0, &idError{id: id, reason: "partition and offset must be non-negative integers"}
	}
	if (Filter{Group: parts[0], Topic: parts[1]}).Validate() != nil {
		return "", "", 0, 0, &idError{id: id, reason: "group or topic is not a valid name"}
	}
	return parts[0], parts[1], int32(p), o, nil
}

type idError struct{ id, reason string }

func (e *idError) Error() string {
	return "dlq: invalid letter id " + strconv.Quote(e.id) + ": " + e.reason
}
func (e *idError) Is(target error) bool { return target == ErrInvalidID }
