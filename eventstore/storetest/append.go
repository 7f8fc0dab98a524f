package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
)

func testRoundTrip(t *testing.T, newStore NewStore) {
	s := newStore(t)
	evs := newEvents("rt", 3)
	// Microseconds survive too, a zone is normalised to UTC, and empty data
	// stays empty.
	evs[1].Timestamp = time.Date(2026, 3, 14, 17, 9, 26, 535_123_000, time.FixedZone("X", 2*3600)).UTC()
	evs[2].Data = nil
	res := mustAppend(t, s, "order-1", eventstore.NoStream, evs)
	if got, want := res.Version, int64(3); got != want {
		t.Errorf("AppendResult.Version = %d, want %d", got, want)
	}
	if got, want := res.LastPosition-res.FirstPosition, int64(2); got != want {
		t.Errorf("LastPosition-FirstPosition = %d, want %d", got, want)
	}
	recs := mustLoad(t, s, "order-1")
	checkRecords(t, recs, "order-1", 1, evs)
	if got, want := recs[0].Position, res.FirstPosition; got != want {
		t.Errorf("first Position = %d, want %d", got, want)
	}
	// A zoned timestamp comes back as the same instant in UTC.
	zoned := newEvents("zoned", 1)
	zoned[0].Timestamp = zoned[0].Timestamp.In(time.FixedZone("Y", -5*3600))
	mustAppend(t, s, "order-2", eventstore.NoStream, zoned)
	zoned[0].Timestamp = zoned[0].Timestamp.UTC()
	checkRecords(t, mustLoad(t, s, "order-2"), "order-2", 1, zoned)
	// Data is kept byte for byte, not re-encoded.
	raw := newEvents("raw", 1)
	raw[0].Data = json.RawMessage(`{ "b" : 2,  "a":[1, 2.50] }`)
	mustAppend(t, s, "order-3", eventstore.NoStream, raw)
	checkRecords(t, mustLoad(t, s, "order-3"), "order-3", 1, raw)
}

func testExpectedVersion(t *testing.T, newStore NewStore) {
	s := newStore(t)
	tests := []struct {
		name        string
		prefill     int
		expected    int64
		wantVersion int64 // when no conflict
		conflict    bool
	}{
		{"NoStream on new stream", 0, eventstore.NoStream, 1, false},
		{"NoStream on existing stream", 2, eventstore.NoStream, 0, true},
		{"exact match", 2, 2, 3, false},
		{"exact too low", 3, 1, 0, true},
		{"exact too high", 2, 5, 0, true},
		{"exact on new stream", 0, 3, 0, true},
		{"Any on new stream", 0, eventstore.Any, 1, false},
		{"Any on existing stream", 2, eventstore.Any, 3, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := "ev-" + string(rune('a'+i))
			if tc.prefill > 0 {
				mustAppend(t, s, stream, eventstore.NoStream, newEvents(stream+"-pre", tc.prefill))
			}
			res, err := s.Append(context.Background(), stream, tc.expected, newEvents(stream, 1))
			if !tc.conflict {
				if err != nil {
					t.Fatalf("Append: %v", err)
				}
				if got, want := res.Version, tc.wantVersion; got != want {
					t.Errorf("Version = %d, want %d", got, want)
				}
				return
			}
			if !errors.Is(err, eventstore.ErrConflict) {
				t.Fatalf("Append error = %v, want ErrConflict", err)
			}
			var ce *eventstore.ConflictError
			if !errors.As(err, &ce) {
				t.Fatalf("Append error %T is not a *ConflictError", err)
			}
			if got, want := *ce, (eventstore.ConflictError{Stream: stream, Expected: tc.expected, Actual: int64(tc.prefill)}); got != want {
				t.Errorf("ConflictError = %+v, want %+v", got, want)
			}
			recs, err := s.Load(context.Background(), stream, 0)
			if tc.prefill == 0 {
				if !errors.Is(err, eventstore.ErrNotFound) {
					t.Errorf("Load after conflict: err = %v, want ErrNotFound", err)
				}
				return
			}
			if got, want := len(recs), tc.prefill; got != want {
				t.Errorf("events after conflict = %d, want %d (a conflict stores nothing)", got, want)
			}
		})
	}
}

func testIdempotentRetry(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := context.Background()
	evs := newEvents("idem", 2)
	first := mustAppend(t, s, "order-1", eventstore.NoStream, evs)
	mustAppend(t, s, "order-2", eventstore.NoStream, newEvents("other", 1))
	mustAppend(t, s, "order-1", eventstore.Any, newEvents("later", 1))
	tests := []struct {
		name     string
		expected int64
	}{
		{"same expected version", eventstore.NoStream},
		{"Any", eventstore.Any},
		{"again", eventstore.NoStream},
	}
	for _, tc := range tests {
		res, err := s.Append(ctx, "order-1", tc.expected, evs)
		if err != nil {
			t.Fatalf("%s: retried Append: %v", tc.name, err)
		}
		if got, want := res, first; got != want {
			t.Errorf("%s: retried Append = %+v, want the original %+v", tc.name, got, want)
		}
	}
	// A retry of a later append at its own expected version is a no-op too.
	more := newEvents("more", 2)
	second := mustAppend(t, s, "order-1", 3, more)
	res, err := s.Append(ctx, "order-1", 3, more)
	if err != nil || res != second {
		t.Errorf("retry at version 3 = %+v, %v; want %+v, nil", res, err, second)
	}
	if got, want := len(mustLoad(t, s, "order-1")), 5; got != want {
		t.Errorf("stream has %d events, want %d (retries store nothing)", got, want)
	}
	if got, want := len(readAll(t, s)), 6; got != want {
		t.Errorf("log has %d events, want %d", got, want)
	}
}

func testDuplicateRejected(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := context.Background()
	stored := newEvents("dup", 2)
	mustAppend(t, s, "order-1", eventstore.NoStream, stored)
	fresh := newEvents("fresh", 1)[0]
	changed := stored[0]
	changed.Data = json.RawMessage(`{"changed":true}`)
	changedMeta := stored[0]
	changedMeta.Metadata.Source = "someone-else"
	tests := []struct {
		name     string
		stream   string
		expected int64
		events   []event.Envelope
	}{
		{"new then stored", "order-1", eventstore.Any, []event.Envelope{fresh, stored[0]}},
		{"stored then new", "order-1", eventstore.Any, []event.Envelope{stored[0], stored[1], fresh}},
		{"in another stream", "order-2", eventstore.NoStream, stored},
		{"one of them in another stream", "order-2", eventstore.Any, []event.Envelope{stored[1]}},
		{"other data", "order-1", eventstore.NoStream, []event.Envelope{changed, stored[1]}},
		{"other metadata", "order-1", eventstore.NoStream, []event.Envelope{changedMeta, stored[1]}},
		{"reordered", "order-1", eventstore.NoStream, []event.Envelope{stored[1], stored[0]}},
		{"other expected version", "order-1", 1, stored},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Append(ctx, tc.stream, tc.expected, tc.events)
			if !errors.Is(err, eventstore.ErrDuplicateEvent) {
				t.Fatalf("Append error = %v, want ErrDuplicateEvent", err)
			}
			all := readAll(t, s)
			if got, want := len(all), 2; got != want {
				t.Fatalf("log has %d events, want %d (a rejected append stores nothing)", got, want)
			}
			if _, err := s.Load(ctx, "order-2", 0); !errors.Is(err, eventstore.ErrNotFound) {
				t.Errorf("Load(order-2) err = %v, want ErrNotFound", err)
			}
		})
	}
	// The stream still takes appends at its real version.
	res := mustAppend(t, s, "order-1", 2, []event.Envelope{fresh})
	if got, want := res.Version, int64(3); got != want {
		t.Errorf("Version after rejected duplicates = %d, want %d", got, want)
	}
}
