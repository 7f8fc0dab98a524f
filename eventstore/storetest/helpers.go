package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
)

// baseTime is the timestamp of the first event helpers build.
var baseTime = time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC)

// newEvents returns n events with distinct ids, ms timestamps one minute
// apart from baseTime, JSON data naming tag and i, and full metadata.
func newEvents(tag string, n int) []event.Envelope {
	evs := make([]event.Envelope, n)
	for i := range evs {
		evs[i] = event.Envelope{
			EventID:   event.NewID(),
			EventType: "test.happened",
			Timestamp: baseTime.Add(time.Duration(i) * time.Minute),
			Version:   1 + i%2,
			Data:      json.RawMessage(fmt.Sprintf(`{"tag":%q,"i":%d,"text":"ünïcödé ✓"}`, tag, i)),
			Metadata: event.Metadata{
				CorrelationID: "corr-" + tag,
				CausationID:   fmt.Sprintf("cause-%s-%d", tag, i),
				Source:        "storetest",
			},
		}
	}
	return evs
}

func mustAppend(t testing.TB, s eventstore.Store, stream string, expected int64, evs []event.Envelope) eventstore.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, expected, evs)
	if err != nil {
		t.Fatalf("Append(%q, %d, %d events): %v", stream, expected, len(evs), err)
	}
	return res
}

func mustLoad(t testing.TB, s eventstore.Store, stream string) []eventstore.Record {
	t.Helper()
	recs, err := s.Load(context.Background(), stream, 0)
	if err != nil {
		t.Fatalf("Load(%q, 0): %v", stream, err)
	}
	return recs
}

// readAll pages through the whole log.
func readAll(t testing.TB, s eventstore.Store) []eventstore.Record {
	t.Helper()
	var all []eventstore.Record
	var from int64
	for {
		page, err := s.ReadAll(context.Background(), from, 100)
		if err != nil {
			t.Fatalf("ReadAll(%d, 100): %v", from, err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		from = page[len(page)-1].Position
	}
}

// sameEvent reports how got differs from want, or "".
func sameEvent(got, want event.Envelope) string {
	switch {
	case got.EventID != want.EventID:
		return fmt.Sprintf("EventID = %q, want %q", got.EventID, want.EventID)
	case got.EventType != want.EventType:
		return fmt.Sprintf("EventType = %q, want %q", got.EventType, want.EventType)
	case got.Version != want.Version:
		return fmt.Sprintf("Version = %d, want %d", got.Version, want.Version)
	case !got.Timestamp.Equal(want.Timestamp):
		return fmt.Sprintf("Timestamp = %s, want %s", got.Timestamp.Format(time.RFC3339Nano), want.Timestamp.Format(time.RFC3339Nano))
	case got.Timestamp.Location() != time.UTC:
		return fmt.Sprintf("Timestamp location = %s, want UTC", got.Timestamp.Location())
	case string(got.Data) != string(want.Data):
		return fmt.Sprintf("Data = %s, want %s", got.Data, want.Data)
	case got.Metadata != want.Metadata:
		return fmt.Sprintf("Metadata = %+v, want %+v", got.Metadata, want.Metadata)
	}
	gotJSON, err1 := json.Marshal(got)
	wantJSON, err2 := json.Marshal(want)
	if err1 != nil || err2 != nil || string(gotJSON) != string(wantJSON) {
		return fmt.Sprintf("wire form = %s, want %s (errors %v, %v)", gotJSON, wantJSON, err1, err2)
	}
	return ""
}

// checkRecords checks that recs are evs stored in stream at versions
// firstVersion, firstVersion+1, … with increasing positions.
func checkRecords(t testing.TB, recs []eventstore.Record, stream string, firstVersion int64, evs []event.Envelope) {
	t.Helper()
	if got, want := len(recs), len(evs); got != want {
		t.Fatalf("got %d records, want %d", got, want)
	}
	for i, r := range recs {
		if r.StreamID != stream {
			t.Errorf("record %d: StreamID = %q, want %q", i, r.StreamID, stream)
		}
		if got, want := r.Version, firstVersion+int64(i); got != want {
			t.Errorf("record %d: Version = %d, want %d", i, got, want)
		}
		if i > 0 && r.Position <= recs[i-1].Position {
			t.Errorf("record %d: Position %d not after %d", i, r.Position, recs[i-1].Position)
		}
		if r.RecordedAt.IsZero() {
			t.Errorf("record %d: zero RecordedAt", i)
		}
		if diff := sameEvent(r.Event, evs[i]); diff != "" {
			t.Errorf("record %d: %s", i, diff)
		}
	}
}
