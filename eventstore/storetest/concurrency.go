package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
)

// testConcurrentOneStream: in each round, racers all append to one stream
// at the same expected version. Exactly one wins each version, every loser
// gets a conflict naming the winner's version, and the stream ends
// contiguous with exactly the winners' events.
func testConcurrentOneStream(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const racers, rounds = 8, 12
	var winners []event.Envelope
	for round := range rounds {
		expected := int64(round)
		evs := make([]event.Envelope, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for r := range racers {
			evs[r] = newEvents(fmt.Sprintf("race-%d-%d", round, r), 1)[0]
			wg.Go(func() {
				_, errs[r] = s.Append(context.Background(), "hot", expected, []event.Envelope{evs[r]})
			})
		}
		wg.Wait()
		won := -1
		for r, err := range errs {
			var ce *eventstore.ConflictError
			switch {
			case err == nil:
				if won >= 0 {
					t.Fatalf("round %d: racers %d and %d both appended at version %d", round, won, r, expected+1)
				}
				won = r
			case errors.As(err, &ce):
				if got, want := ce.Actual, expected+1; got != want {
					t.Errorf("round %d: ConflictError.Actual = %d, want %d", round, got, want)
				}
			default:
				t.Fatalf("round %d: racer %d: %v", round, r, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no racer won version %d", round, expected+1)
		}
		winners = append(winners, evs[won])
	}
	checkRecords(t, mustLoad(t, s, "hot"), "hot", 1, winners)
}

// testParallelStreams: many goroutines append to their own streams at once;
// the global log then holds every event exactly once at positions 1…N, and
// each stream's events in version order.
func testParallelStreams(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const workers, streams, perAppend = 8, 6, 3
	var wg sync.WaitGroup
	errs := make(chan error, workers*streams)
	for w := range workers {
		wg.Go(func() {
			for i := range streams {
				stream := fmt.Sprintf("par-%d-%d", w, i)
				if _, err := s.Append(context.Background(), stream, eventstore.NoStream, newEvents(stream, perAppend)); err != nil {
					errs <- fmt.Errorf("append %s: %w", stream, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all := readAll(t, s)
	if got, want := len(all), workers*streams*perAppend; got != want {
		t.Fatalf("log has %d events, want %d", got, want)
	}
	seen := map[string]bool{}
	lastVersion := map[string]int64{}
	for i, r := range all {
		if got, want := r.Position, int64(i+1); got != want {
			t.Fatalf("record %d: Position = %d, want %d (positions must be 1…N)", i, got, want)
		}
		if seen[r.Event.EventID] {
			t.Fatalf("event %s appears twice", r.Event.EventID)
		}
		seen[r.Event.EventID] = true
		if got, want := r.Version, lastVersion[r.StreamID]+1; got != want {
			t.Fatalf("stream %s: version %d follows %d in the log", r.StreamID, got, want-1)
		}
		lastVersion[r.StreamID] = r.Version
	}
}

// testPoller: a reader polls ReadAll with the last position it saw while
// writers commit; it must see every position exactly once, each one more
// than the last (no gap, no repeat, no reordering), and in the end every
// appended event.
func testPoller(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const writers, appends = 6, 25
	ctx := context.Background()
	total := 0
	batches := make([][][]event.Envelope, writers)
	for w := range writers {
		for a := range appends {
			evs := newEvents(fmt.Sprintf("poll-%d-%d", w, a), 1+(w+a)%3)
			batches[w] = append(batches[w], evs)
			total += len(evs)
		}
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for a, evs := range batches[w] {
				// Half the writers share streams, so they also conflict and retry.
				stream := fmt.Sprintf("poll-%d", w%3)
				if w%2 == 1 {
					stream = fmt.Sprintf("poll-own-%d-%d", w, a)
				}
				if _, err := s.Append(ctx, stream, eventstore.Any, evs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	var last int64
	seen := 0
	finished := false
	for seen < total {
		page, err := s.ReadAll(ctx, last, 7)
		if err != nil {
			t.Fatalf("ReadAll(%d, 7): %v", last, err)
		}
		for _, r := range page {
			if got, want := r.Position, last+1; got != want {
				t.Fatalf("poller saw position %d after %d, want %d", got, last, want)
			}
			last = r.Position
			seen++
		}
		if len(page) == 0 && finished {
			break
		}
		select {
		case <-done:
			finished = true
		default:
		}
	}
	<-done
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	if got, want := seen, total; got != want {
		t.Fatalf("poller saw %d events, want %d", got, want)
	}
	if more, err := s.ReadAll(ctx, last, 10); err != nil || len(more) != 0 {
		t.Fatalf("ReadAll after the end = %d records, %v; want none", len(more), err)
	}
}
