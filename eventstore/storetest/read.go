package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/eventstore"
)

func testLoadAfterVersion(t *testing.T, newStore NewStore) {
	s := newStore(t)
	evs := newEvents("after", 5)
	mustAppend(t, s, "order-1", eventstore.NoStream, evs[:2])
	mustAppend(t, s, "order-1", 2, evs[2:])
	tests := []struct {
		stream      string
		after       int64
		wantFirst   int64
		wantN       int
		notFoundErr bool
	}{
		{"order-1", 0, 1, 5, false},
		{"order-1", 2, 3, 3, false},
		{"order-1", 4, 5, 1, false},
		{"order-1", 5, 0, 0, false},
		{"order-1", 9, 0, 0, false},
		{"missing", 0, 0, 0, true},
		{"missing", 3, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s after %d", tc.stream, tc.after), func(t *testing.T) {
			recs, err := s.Load(context.Background(), tc.stream, tc.after)
			if tc.notFoundErr {
				if !errors.Is(err, eventstore.ErrNotFound) {
					t.Fatalf("Load err = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if recs == nil {
				t.Errorf("Load returned nil, want an empty slice")
			}
			if tc.wantN == 0 {
				if len(recs) != 0 {
					t.Fatalf("got %d records, want none", len(recs))
				}
				return
			}
			checkRecords(t, recs, tc.stream, tc.wantFirst, evs[tc.wantFirst-1:])
		})
	}
}

func testLoadAt(t *testing.T, newStore NewStore) {
	s := newStore(t)
	evs := newEvents("at", 3)
	t0 := baseTime
	for i := range evs {
		evs[i].Timestamp = t0.Add(time.Duration(i) * time.Hour)
	}
	mustAppend(t, s, "order-1", eventstore.NoStream, evs[:1])
	mustAppend(t, s, "order-1", 1, evs[1:])
	tests := []struct {
		name  string
		at    time.Time
		wantN int // 0: ErrNotFound
	}{
		{"before the first event", t0.Add(-time.Millisecond), 0},
		{"a microsecond before", t0.Add(-time.Microsecond), 0},
		{"exactly the first event", t0, 1},
		{"just before the second", t0.Add(time.Hour - time.Millisecond), 1},
		{"exactly the second", t0.Add(time.Hour), 2},
		{"between second and third", t0.Add(90 * time.Minute), 2},
		{"in another zone", t0.Add(90 * time.Minute).In(time.FixedZone("Z", 9*3600)), 2},
		{"exactly the last", t0.Add(2 * time.Hour), 3},
		{"far future", t0.AddDate(10, 0, 0), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := s.LoadAt(context.Background(), "order-1", tc.at)
			if tc.wantN == 0 {
				if !errors.Is(err, eventstore.ErrNotFound) {
					t.Fatalf("LoadAt err = %v (%d records), want ErrNotFound", err, len(recs))
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadAt: %v", err)
			}
			checkRecords(t, recs, "order-1", 1, evs[:tc.wantN])
		})
	}
	if _, err := s.LoadAt(context.Background(), "missing", t0.AddDate(1, 0, 0)); !errors.Is(err, eventstore.ErrNotFound) {
		t.Errorf("LoadAt(missing) err = %v, want ErrNotFound", err)
	}
}

func testReadAllPaging(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := context.Background()
	if page, err := s.ReadAll(ctx, 0, 5); err != nil || len(page) != 0 {
		t.Fatalf("ReadAll on an empty store = %d records, %v; want none", len(page), err)
	}
	var want []string
	for i := range 4 {
		stream := fmt.Sprintf("page-%d", i%3)
		evs := newEvents(stream, 1+i%2)
		mustAppend(t, s, stream, eventstore.Any, evs)
		for _, e := range evs {
			want = append(want, e.EventID)
		}
	}
	// 6 events: pages of 4, 2, then none.
	var got []string
	var from int64
	var sizes []int
	for {
		page, err := s.ReadAll(ctx, from, 4)
		if err != nil {
			t.Fatalf("ReadAll(%d, 4): %v", from, err)
		}
		sizes = append(sizes, len(page))
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if r.Position != from+1 {
				t.Fatalf("Position %d after %d", r.Position, from)
			}
			from = r.Position
			got = append(got, r.Event.EventID)
		}
	}
	if fmt.Sprint(sizes) != "[4 2 0]" {
		t.Errorf("page sizes = %v, want [4 2 0]", sizes)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ids in log order = %v, want %v", got, want)
	}
	if page, err := s.ReadAll(ctx, 3, 1); err != nil || len(page) != 1 || page[0].Position != 4 {
		t.Errorf("ReadAll(3, 1) = %+v, %v; want one record at position 4", page, err)
	}
	if page, err := s.ReadAll(ctx, 100, 10); err != nil || len(page) != 0 {
		t.Errorf("ReadAll past the end = %d records, %v; want none", len(page), err)
	}
}

func testReadCorrelation(t *testing.T, newStore NewStore) {
	s := newStore(t)
	cr, ok := s.(eventstore.CorrelationReader)
	if !ok {
		t.Skip("store does not implement eventstore.CorrelationReader")
	}
	a, b := newEvents("flow-a", 3), newEvents("flow-b", 2)
	mustAppend(t, s, "order-a", eventstore.NoStream, a[:1])
	mustAppend(t, s, "order-b", eventstore.NoStream, b)
	mustAppend(t, s, "payment-a", eventstore.NoStream, a[1:])
	recs, err := cr.ReadCorrelation(context.Background(), "corr-flow-a")
	if err != nil {
		t.Fatalf("ReadCorrelation: %v", err)
	}
	if got, want := len(recs), 3; got != want {
		t.Fatalf("got %d records, want %d", got, want)
	}
	for i, r := range recs {
		if diff := sameEvent(r.Event, a[i]); diff != "" {
			t.Errorf("record %d: %s", i, diff)
		}
	}
	if recs, err := cr.ReadCorrelation(context.Background(), "corr-none"); err != nil || len(recs) != 0 {
		t.Errorf("ReadCorrelation(unknown) = %d records, %v; want none", len(recs), err)
	}
}
