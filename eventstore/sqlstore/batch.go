package sqlstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
)

// batch is one validated append.
type batch struct {
	stream   string
	expected int64
	ids      []string
	rows     []eventRow
}

// eventRow is one event in the form it is stored.
type eventRow struct {
	ev          event.Envelope
	timestampUS int64
}

// newBatch validates an append, joining every problem into one error that
// wraps eventstore.ErrInvalid.
func newBatch(streamID string, expected int64, events []event.Envelope) (*batch, error) {
	var problems []error
	bad := func(format string, args ...any) {
		problems = append(problems, fmt.Errorf("%w: "+format, append([]any{eventstore.ErrInvalid}, args...)...))
	}
	if streamID == "" {
		bad("empty stream id")
	}
	if expected < eventstore.Any {
		bad("expected version %d (want Any, NoStream or a version ≥ 1)", expected)
	}
	switch {
	case len(events) == 0:
		bad("no events")
	case len(events) > MaxAppendEvents:
		bad("%d events in one append (at most %d)", len(events), MaxAppendEvents)
	}
	b := &batch{stream: streamID, expected: expected, ids: make([]string, 0, len(events)), rows: make([]eventRow, 0, len(events))}
	seen := make(map[string]struct{}, len(events))
	for i, ev := range events {
		if ev.EventID == "" {
			bad("event %d: empty event id", i)
		} else if _, dup := seen[ev.EventID]; dup {
			bad("event %d: event id %s appears twice", i, ev.EventID)
		}
		seen[ev.EventID] = struct{}{}
		if ev.EventType == "" {
			bad("event %d: empty event type", i)
		}
		if ev.Timestamp.IsZero() {
			bad("event %d: zero timestamp", i)
		}
		if len(ev.Data) > 0 && (!utf8.Valid(ev.Data) || !json.Valid(ev.Data)) {
			bad("event %d: data is not valid UTF-8 JSON", i)
		}
		ev.Timestamp = ev.Timestamp.UTC()
		b.ids = append(b.ids, ev.EventID)
		b.rows = append(b.rows, eventRow{ev: ev, timestampUS: ev.Timestamp.UnixMicro()})
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return b, nil
}

// insertColumns is the number of columns appendArgs fills.
const insertColumns = 12

func (r *eventRow) appendArgs(args []any, stream string, version, position, recordedUS int64) []any {
	return append(args,
		position, stream, version, r.ev.EventID, r.ev.EventType, r.ev.Version, r.timestampUS,
		string(r.ev.Data), r.ev.Metadata.CorrelationID, r.ev.Metadata.CausationID, r.ev.Metadata.Source,
		recordedUS)
}

// judgeDuplicate decides an append some of whose ids are stored (stored,
// in position order): the original result for an exact repeat, otherwise
// ErrDuplicateEvent.
func (b *batch) judgeDuplicate(stored []eventstore.Record) (eventstore.AppendResult, error) {
	if len(stored) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("sqlstore: append to %q: duplicate reported but no id stored", b.stream)
	}
	if why := b.repeatMismatch(stored); why != "" {
		return eventstore.AppendResult{}, fmt.Errorf("%w: append to %q: %s", eventstore.ErrDuplicateEvent, b.stream, why)
	}
	last := stored[len(stored)-1]
	return eventstore.AppendResult{Version: last.Version, FirstPosition: stored[0].Position, LastPosition: last.Position}, nil
}

// repeatMismatch returns why stored is not an exact repeat of b, or "".
func (b *batch) repeatMismatch(stored []eventstore.Record) string {
	if len(stored) != len(b.rows) {
		return fmt.Sprintf("%d of %d event ids already stored (first %s in stream %q)",
			len(stored), len(b.rows), stored[0].Event.EventID, stored[0].StreamID)
	}
	if b.expected != eventstore.Any && stored[0].Version != b.expected+1 {
		return fmt.Sprintf("events already stored from version %d, not %d", stored[0].Version, b.expected+1)
	}
	for i, rec := range stored {
		r := b.rows[i]
		switch {
		case rec.StreamID != b.stream:
			return fmt.Sprintf("event %s is stored in stream %q", rec.Event.EventID, rec.StreamID)
		case rec.Event.EventID != r.ev.EventID || rec.Version != stored[0].Version+int64(i):
			return fmt.Sprintf("event %s is stored at another place in the stream", r.ev.EventID)
		case rec.Event.EventType != r.ev.EventType || rec.Event.Version != r.ev.Version ||
			rec.Event.Timestamp.UnixMicro() != r.timestampUS || !bytes.Equal(rec.Event.Data, r.ev.Data) ||
			rec.Event.Metadata != r.ev.Metadata:
			return fmt.Sprintf("event %s is stored with other content", r.ev.EventID)
		}
	}
	return ""
}
