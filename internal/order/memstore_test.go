package order_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/outbox"
)

// memStore is an in-memory eventstore.Store for tests. It also records the
// outbox messages appended with events and the afterVersion of every Load.
type memStore struct {
	mu        sync.Mutex
	streams   map[string][]eventstore.Record
	position  int64
	snapshots map[string]eventstore.Snapshot
	outbox    []outbox.Message
	loads     []int64
	conflicts int
	// beforeAppend, if set, runs (unlocked) at the start of every Append.
	beforeAppend func()
}

var _ eventstore.Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{streams: map[string][]eventstore.Record{}, snapshots: map[string]eventstore.Snapshot{}}
}

func cloneEnvelope(e event.Envelope) event.Envelope {
	e.Data = bytes.Clone(e.Data)
	return e
}

func (s *memStore) Append(ctx context.Context, streamID string, expected int64, events []event.Envelope, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	if s.beforeAppend != nil {
		s.beforeAppend()
	}
	if err := ctx.Err(); err != nil {
		return eventstore.AppendResult{}, err
	}
	if streamID == "" || len(events) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("%w: empty stream id or no events", eventstore.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	recs := s.streams[streamID]
	actual := int64(len(recs))
	if expected != eventstore.Any && expected != actual {
		s.conflicts++
		return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: streamID, Expected: expected, Actual: actual}
	}
	res := eventstore.AppendResult{FirstPosition: s.position + 1}
	for _, e := range events {
		s.position++
		actual++
		recs = append(recs, eventstore.Record{StreamID: streamID, Version: actual, Position: s.position,
			RecordedAt: time.Now(), Event: cloneEnvelope(e)})
	}
	s.streams[streamID] = recs
	s.outbox = append(s.outbox, eventstore.ResolveAppendOptions(opts...).Outbox...)
	res.Version, res.LastPosition = actual, s.position
	return res, nil
}

func (s *memStore) Load(ctx context.Context, streamID string, afterVersion int64) ([]eventstore.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads = append(s.loads, afterVersion)
	recs := s.streams[streamID]
	if len(recs) == 0 && afterVersion == 0 {
		return nil, eventstore.ErrNotFound
	}
	var out []eventstore.Record
	for _, r := range recs {
		if r.Version > afterVersion {
			r.Event = cloneEnvelope(r.Event)
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *memStore) LoadAt(ctx context.Context, streamID string, at time.Time) ([]eventstore.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventstore.Record
	for _, r := range s.streams[streamID] {
		if !r.Event.Timestamp.After(at) {
			r.Event = cloneEnvelope(r.Event)
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, eventstore.ErrNotFound
	}
	return out, nil
}

func (s *memStore) ReadAll(ctx context.Context, from int64, limit int) ([]eventstore.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []eventstore.Record
	for _, recs := range s.streams {
		for _, r := range recs {
			if r.Position > from {
				out = append(out, r)
			}
		}
	}
	// Positions are unique; sort and cut.
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j].Position < out[i].Position {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (s *memStore) SaveSnapshot(ctx context.Context, snap eventstore.Snapshot) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.snapshots[snap.StreamID]; ok && old.Version > snap.Version {
		return nil
	}
	snap.Data = bytes.Clone(snap.Data)
	s.snapshots[snap.StreamID] = snap
	return nil
}

func (s *memStore) LoadSnapshot(ctx context.Context, streamID string) (eventstore.Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap, ok := s.snapshots[streamID]
	if !ok {
		return eventstore.Snapshot{}, eventstore.ErrNoSnapshot
	}
	return snap, nil
}

// appendRaw stores an envelope as is, bypassing the repository.
func (s *memStore) appendRaw(streamID string, e event.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.position++
	s.streams[streamID] = append(s.streams[streamID], eventstore.Record{StreamID: streamID,
		Version: int64(len(s.streams[streamID]) + 1), Position: s.position, RecordedAt: time.Now(), Event: e})
}
