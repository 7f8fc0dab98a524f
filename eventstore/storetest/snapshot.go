package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/eventstore"
)

func testSnapshots(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.LoadSnapshot(ctx, "order-1"); !errors.Is(err, eventstore.ErrNoSnapshot) {
		t.Fatalf("LoadSnapshot before any: err = %v, want ErrNoSnapshot", err)
	}
	at := baseTime
	snap := func(v int64, data string) eventstore.Snapshot {
		return eventstore.Snapshot{StreamID: "order-1", Version: v, Type: "order/v1", Data: []byte(data), CreatedAt: at.Add(time.Duration(v) * time.Second)}
	}
	steps := []struct {
		name string
		save eventstore.Snapshot
		want eventstore.Snapshot
	}{
		{"first", snap(5, "five"), snap(5, "five")},
		{"older is ignored", snap(3, "three"), snap(5, "five")},
		{"newer replaces", snap(7, "seven"), snap(7, "seven")},
		{"same version replaces", eventstore.Snapshot{StreamID: "order-1", Version: 7, Type: "order/v2", Data: []byte{0, 1, 2, 255}, CreatedAt: at}, eventstore.Snapshot{StreamID: "order-1", Version: 7, Type: "order/v2", Data: []byte{0, 1, 2, 255}, CreatedAt: at}},
	}
	for _, st := range steps {
		if err := s.SaveSnapshot(ctx, st.save); err != nil {
			t.Fatalf("%s: SaveSnapshot: %v", st.name, err)
		}
		got, err := s.LoadSnapshot(ctx, "order-1")
		if err != nil {
			t.Fatalf("%s: LoadSnapshot: %v", st.name, err)
		}
		if got.StreamID != st.want.StreamID || got.Version != st.want.Version || got.Type != st.want.Type ||
			string(got.Data) != string(st.want.Data) || !got.CreatedAt.Equal(st.want.CreatedAt) {
			t.Errorf("%s: LoadSnapshot = %+v, want %+v", st.name, got, st.want)
		}
	}
	if _, err := s.LoadSnapshot(ctx, "order-2"); !errors.Is(err, eventstore.ErrNoSnapshot) {
		t.Errorf("LoadSnapshot(other stream): err = %v, want ErrNoSnapshot", err)
	}
	// A zero CreatedAt is stamped by the store.
	if err := s.SaveSnapshot(ctx, eventstore.Snapshot{StreamID: "order-3", Version: 1, Type: "order/v1"}); err != nil {
		t.Fatalf("SaveSnapshot without CreatedAt: %v", err)
	}
	if got, err := s.LoadSnapshot(ctx, "order-3"); err != nil || got.CreatedAt.IsZero() || len(got.Data) != 0 {
		t.Errorf("LoadSnapshot(order-3) = %+v, %v; want a stamped CreatedAt and no data", got, err)
	}
}
