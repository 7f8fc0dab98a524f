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

func testContextCanceled(t *testing.T, newStore NewStore) {
	s := newStore(t)
	mustAppend(t, s, "order-1", eventstore.NoStream, newEvents("ctx", 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Append", func() error {
			_, err := s.Append(ctx, "order-2", eventstore.NoStream, newEvents("ctx2", 1))
			return err
		}},
		{"Load", func() error { _, err := s.Load(ctx, "order-1", 0); return err }},
		{"LoadAt", func() error { _, err := s.LoadAt(ctx, "order-1", time.Now()); return err }},
		{"ReadAll", func() error { _, err := s.ReadAll(ctx, 0, 10); return err }},
		{"SaveSnapshot", func() error {
			return s.SaveSnapshot(ctx, eventstore.Snapshot{StreamID: "order-1", Version: 1, Type: "t", Data: []byte("x")})
		}},
		{"LoadSnapshot", func() error { _, err := s.LoadSnapshot(ctx, "order-1"); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled ctx: err = %v, want context.Canceled", c.name, err)
		}
	}
	if _, err := s.Load(context.Background(), "order-2", 0); !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("Load(order-2) err = %v, want ErrNotFound (a canceled append stores nothing)", err)
	}
	if _, err := s.LoadSnapshot(context.Background(), "order-1"); !errors.Is(err, eventstore.ErrNoSnapshot) {
		t.Errorf("LoadSnapshot err = %v, want ErrNoSnapshot (a canceled save stores nothing)", err)
	}
}

func testInvalidArguments(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := context.Background()
	valid := func() event.Envelope { return newEvents("inv", 1)[0] }
	with := func(f func(*event.Envelope)) []event.Envelope { e := valid(); f(&e); return []event.Envelope{e} }
	twice := valid()
	calls := []struct {
		name string
		call func() error
	}{
		{"Append empty stream", func() error { _, err := s.Append(ctx, "", eventstore.Any, []event.Envelope{valid()}); return err }},
		{"Append no events", func() error { _, err := s.Append(ctx, "s", eventstore.Any, nil); return err }},
		{"Append expected < Any", func() error { _, err := s.Append(ctx, "s", -2, []event.Envelope{valid()}); return err }},
		{"Append empty id", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, with(func(e *event.Envelope) { e.EventID = "" }))
			return err
		}},
		{"Append empty type", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, with(func(e *event.Envelope) { e.EventType = "" }))
			return err
		}},
		{"Append zero timestamp", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, with(func(e *event.Envelope) { e.Timestamp = time.Time{} }))
			return err
		}},
		{"Append data not JSON", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, with(func(e *event.Envelope) { e.Data = json.RawMessage(`{"a":`) }))
			return err
		}},
		{"Append id twice", func() error {
			_, err := s.Append(ctx, "s", eventstore.Any, []event.Envelope{twice, valid(), twice})
			return err
		}},
		{"Load empty stream", func() error { _, err := s.Load(ctx, "", 0); return err }},
		{"Load negative version", func() error { _, err := s.Load(ctx, "s", -1); return err }},
		{"LoadAt empty stream", func() error { _, err := s.LoadAt(ctx, "", time.Now()); return err }},
		{"ReadAll negative from", func() error { _, err := s.ReadAll(ctx, -1, 10); return err }},
		{"ReadAll zero limit", func() error { _, err := s.ReadAll(ctx, 0, 0); return err }},
		{"SaveSnapshot empty stream", func() error {
			return s.SaveSnapshot(ctx, eventstore.Snapshot{Version: 1, Type: "t"})
		}},
		{"SaveSnapshot version 0", func() error {
			return s.SaveSnapshot(ctx, eventstore.Snapshot{StreamID: "s", Type: "t"})
		}},
		{"SaveSnapshot empty type", func() error {
			return s.SaveSnapshot(ctx, eventstore.Snapshot{StreamID: "s", Version: 1})
		}},
		{"LoadSnapshot empty stream", func() error { _, err := s.LoadSnapshot(ctx, ""); return err }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, eventstore.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", c.name, err)
		}
	}
	if all := readAll(t, s); len(all) != 0 {
		t.Errorf("log has %d events after invalid appends, want none", len(all))
	}
	if _, err := s.LoadSnapshot(ctx, "s"); !errors.Is(err, eventstore.ErrNoSnapshot) {
		t.Errorf("LoadSnapshot(s) err = %v, want ErrNoSnapshot", err)
	}
}
