package projection

import (
	"context"
	"fmt"

	"github.com/causeway-dev/causeway/eventstore"
)

// History is a source of past events that a rebuild replays before it
// reads the topics from their start: the long-term record when the topics'
// retention no longer holds everything. The rebuild deduplicates by event
// id, so events found both in the history and in the topics are applied
// once (dedup must be on).
//
// Replay delivers the events in their order, in batches, with envelopes as
// stored (the rebuild upcasts them); an error from fn stops it and is
// returned. Len is the number of events Replay delivers, for progress.
// Implementations honour ctx.
type History interface {
	Len(ctx context.Context) (int64, error)
	Replay(ctx context.Context, fn func([]Message) error) error
}

// EventStoreHistory replays every event of store (eventstore.ReadAll from
// position 0) as messages of topic, the topic the store's events are
// published to, with Partition -1 and Offset = the global position.
func EventStoreHistory(store eventstore.Store, topic string) History {
	return &storeHistory{store: store, topic: topic, batch: 1000}
}

type storeHistory struct {
	store eventstore.Store
	topic string
	batch int
}

// Len finds the last global position (positions are dense from 1) with
// a galloping search of ReadAll probes.
func (h *storeHistory) Len(ctx context.Context) (int64, error) {
	exists := func(pos int64) (bool, error) {
		recs, err := h.store.ReadAll(ctx, pos-1, 1)
		if err != nil {
			return false, fmt.Errorf("projection: event store length: %w", err)
		}
		return len(recs) > 0, nil
	}
	if ok, err := exists(1); err != nil || !ok {
		return 0, err
	}
	lo, hi := int64(1), int64(2)
	for {
		ok, err := exists(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 { // lo exists, hi does not
		mid := lo + (hi-lo)/2
		ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func (h *storeHistory) Replay(ctx context.Context, fn func([]Message) error) error {
	var from int64
	for {
		recs, err := h.store.ReadAll(ctx, from, h.batch)
		if err != nil {
			return fmt.Errorf("projection: replay event store from %d: %w", from, err)
		}
		if len(recs) == 0 {
			return nil
		}
		msgs := make([]Message, len(recs))
		for i, rec := range recs {
			msgs[i] = Message{Envelope: rec.Event, Topic: h.topic, Partition: -1, Offset: rec.Position, Timestamp: rec.RecordedAt}
		}
		if err := fn(msgs); err != nil {
			return err
		}
		from = recs[len(recs)-1].Position
	}
}
