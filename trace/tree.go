package trace

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/causeway-dev/causeway/event"
)

// Sentinel errors. Match them with errors.Is.
var (
	// ErrInvalidID: the correlation id is empty, longer than
	// event.MaxNameLen bytes or not visible ASCII (no envelope can carry
	// it).
	ErrInvalidID = errors.New("trace: invalid correlation id")
	// ErrNotFound: no event of the flow was found.
	ErrNotFound = errors.New("trace: no events for this correlation id")
)

// ValidateID reports whether id can be a correlation id: 1 to
// event.MaxNameLen bytes of visible ASCII (0x21–0x7E), the rule the event
// codec applies to metadata.correlationId. Errors wrap ErrInvalidID.
func ValidateID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("%w: empty", ErrInvalidID)
	case len(id) > event.MaxNameLen:
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidID, len(id), event.MaxNameLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: byte %d (0x%02x) is not visible ASCII", ErrInvalidID, i, c)
		}
	}
	return nil
}

// Position is where a record is in Kafka.
type Position struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// Event is one collected event of a flow: its envelope's identity and
// metadata (not its data), and where it was found.
type Event struct {
	EventID     string
	EventType   string
	Version     int
	Source      string
	CausationID string
	Timestamp   time.Time
	// Kafka is the record's position, nil when the event was only found
	// in the event store.
	Kafka *Position
	// InStore is true when the event store holds the event.
	InStore bool
}

// FromEnvelope returns the Event of e, found at pos (nil: not from Kafka).
func FromEnvelope(e event.Envelope, pos *Position) Event {
	return Event{
		EventID:     e.EventID,
		EventType:   e.EventType,
		Version:     e.Version,
		Source:      e.Metadata.Source,
		CausationID: e.Metadata.CausationID,
		Timestamp:   e.Timestamp.UTC(),
		Kafka:       pos,
	}
}

// Node is one event in the causation tree.
type Node struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Version   int    `json:"version"`
	// Source is the service that produced the event.
	Source string `json:"source"`
	// Timestamp is the event's own timestamp (event.TimeLayout in JSON).
	Timestamp Time `json:"timestamp"`
	// CausationID is the event's metadata.causationId ("" for the first
	// event of a flow).
	CausationID string `json:"causationId,omitempty"`
	// Kafka is where the event was read, when it was read from Kafka.
	Kafka   *Position `json:"kafka,omitempty"`
	InStore bool      `json:"inStore,omitempty"`
	// LatencyMs is Timestamp minus the cause's Timestamp in milliseconds;
	// nil for roots. It is negative when the producers' clocks disagree
	// (ClockSkew).
	LatencyMs *int64 `json:"latencyMs,omitempty"`
	// ClockSkew is true when the event is stamped before its cause.
	ClockSkew bool `json:"clockSkew,omitempty"`
	// Orphan is true for a root whose causationId names an event that was
	// not found (expired from the topics, or produced elsewhere), or that
	// is part of a causation cycle.
	Orphan bool `json:"orphan,omitempty"`
	// Children are the events caused by this one, by timestamp.
	Children []*Node `json:"children"`
}

// Latency returns the latency from the cause and whether there is one.
func (n *Node) Latency() (time.Duration, bool) {
	if n.LatencyMs == nil {
		return 0, false
	}
	return time.Duration(*n.LatencyMs) * time.Millisecond, true
}

// Step is one event of the flat timeline.
type Step struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Source    string `json:"source"`
	Timestamp Time   `json:"timestamp"`
	// SinceStartMs is the time since the flow's first event.
	SinceStartMs int64 `json:"sinceStartMs"`
}

// Flow is the causation tree of one correlation id.
type Flow struct {
	CorrelationID string `json:"correlationId"`
	// Events is the number of distinct events found (at most the cap).
	Events int `json:"events"`
	// Start and End are the earliest and latest event timestamps;
	// DurationMs is End − Start.
	Start      Time  `json:"start"`
	End        Time  `json:"end"`
	DurationMs int64 `json:"durationMs"`
	// Roots are the events without a cause in the flow: the first event
	// and the orphans, by timestamp.
	Roots []*Node `json:"roots"`
	// Timeline is every event by timestamp.
	Timeline []Step `json:"timeline"`
	// Truncated is true when the flow has more events than the cap: only
	// the first ones found are shown.
	Truncated bool `json:"truncated,omitempty"`
	// Undecodable counts records labelled with the correlation id whose
	// value is not an envelope of this flow; they are skipped.
	Undecodable int `json:"undecodable,omitempty"`
	// Scanned is the number of Kafka records read.
	Scanned int64 `json:"scanned"`
	// Warnings are problems that did not prevent the trace (a source that
	// could not be read while the other gave events).
	Warnings []string `json:"warnings,omitempty"`
}

// Time is a time.Time that marshals in event.TimeLayout (milliseconds, UTC).
type Time struct{ time.Time }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(event.TimeLayout) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("trace: time %s is not a JSON string", b)
	}
	v, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// Build returns the causation tree of events, which must share
// correlationID. Events with the same EventID are one event: the first
// Kafka position and InStore of any copy are kept. Roots are events
// without a causationId, and orphans: events whose cause is not among
// events or is the event itself. Events no root reaches (a causation cycle
// and what hangs off it) are cut from their cause, earliest first, and
// become orphan roots until every event is in the tree. Siblings and roots are ordered by timestamp,
// then event id. Build returns ErrNotFound when events is empty.
func Build(correlationID string, events []Event) (*Flow, error) {
	byID := make(map[string]*Event, len(events))
	var order []*Event
	for i := range events {
		e := events[i]
		if prev, ok := byID[e.EventID]; ok {
			if e.Kafka != nil && (prev.Kafka == nil || lessPos(*e.Kafka, *prev.Kafka)) {
				p := *e.Kafka
				prev.Kafka = &p
			}
			prev.InStore = prev.InStore || e.InStore
			continue
		}
		if e.Kafka != nil {
			p := *e.Kafka
			e.Kafka = &p
		}
		byID[e.EventID] = &e
		order = append(order, &e)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, correlationID)
	}
	slices.SortFunc(order, func(a, b *Event) int {
		if c := a.Timestamp.Compare(b.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.EventID, b.EventID)
	})

	nodes := make(map[string]*Node, len(order))
	for _, e := range order {
		nodes[e.EventID] = &Node{
			EventID: e.EventID, EventType: e.EventType, Version: e.Version, Source: e.Source,
			Timestamp: Time{e.Timestamp}, CausationID: e.CausationID, Kafka: e.Kafka, InStore: e.InStore,
			Children: []*Node{},
		}
	}
	f := &Flow{CorrelationID: correlationID, Events: len(order), Roots: []*Node{}}
	attached := make(map[string]bool, len(order))
	var attach func(n *Node)
	// Walk in timestamp order: link each event to its cause, or make it a
	// root. Children are appended in timestamp order since order is sorted.
	for _, e := range order {
		n := nodes[e.EventID]
		cause, ok := nodes[e.CausationID]
		switch {
		case e.CausationID == "":
			f.Roots = append(f.Roots, n)
		case !ok || cause == n:
			n.Orphan = true
			f.Roots = append(f.Roots, n)
		default:
			cause.Children = append(cause.Children, n)
			ms := e.Timestamp.Sub(cause.Timestamp.Time).Milliseconds()
			n.LatencyMs = &ms
			n.ClockSkew = ms < 0
		}
	}
	// Mark what the roots reach; what they do not is in a cycle. Cut each
	// cycle at its earliest unreached event, which becomes an orphan root.
	attach = func(root *Node) {
		stack := []*Node{root}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if attached[n.EventID] {
				continue
			}
			attached[n.EventID] = true
			stack = append(stack, n.Children...)
		}
	}
	for _, r := range f.Roots {
		attach(r)
	}
	for _, e := range order {
		if attached[e.EventID] {
			continue
		}
		n := nodes[e.EventID]
		cause := nodes[e.CausationID]
		cause.Children = slices.DeleteFunc(cause.Children, func(c *Node) bool { return c == n })
		n.LatencyMs, n.ClockSkew, n.Orphan = nil, false, true
		f.Roots = append(f.Roots, n)
		attach(n)
	}
	slices.SortStableFunc(f.Roots, func(a, b *Node) int {
		if c := a.Timestamp.Compare(b.Timestamp.Time); c != 0 {
			return c
		}
		return cmp.Compare(a.EventID, b.EventID)
	})

	start, end := order[0].Timestamp, order[0].Timestamp
	for _, e := range order {
		start, end = minTime(start, e.Timestamp), maxTime(end, e.Timestamp)
	}
	f.Start, f.End, f.DurationMs = Time{start}, Time{end}, end.Sub(start).Milliseconds()
	f.Timeline = make([]Step, len(order))
	for i, e := range order {
		f.Timeline[i] = Step{EventID: e.EventID, EventType: e.EventType, Source: e.Source,
			Timestamp: Time{e.Timestamp}, SinceStartMs: e.Timestamp.Sub(start).Milliseconds()}
	}
	return f, nil
}

func lessPos(a, b Position) bool {
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	if a.Partition != b.Partition {
		return a.Partition < b.Partition
	}
	return a.Offset < b.Offset
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Walk calls fn for every node of the flow, depth first in tree order,
// with its depth (0 for roots).
func (f *Flow) Walk(fn func(n *Node, depth int)) {
	type item struct {
		n     *Node
		depth int
	}
	var stack []item
	for i := len(f.Roots) - 1; i >= 0; i-- {
		stack = append(stack, item{f.Roots[i], 0})
	}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn(it.n, it.depth)
		for i := len(it.n.Children) - 1; i >= 0; i-- {
			stack = append(stack, item{it.n.Children[i], it.depth + 1})
		}
	}
}
