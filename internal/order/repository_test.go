package order_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/outbox"
)

var md = event.Metadata{CorrelationID: "c-1", CausationID: "e-0", Source: "order-service"}

func create(t *testing.T, repo *order.Repository, id string) order.Result {
	t.Helper()
	res, err := repo.Create(context.Background(), id, md, func(o *order.Order) error {
		_, err := o.Place(placeCmd(id))
		return err
	})
	if err != nil {
		t.Fatalf("Create(%s): %v", id, err)
	}
	return res
}

func update(t *testing.T, repo *order.Repository, id string, fn func(*order.Order) ([]order.Event, error)) order.Result {
	t.Helper()
	res, err := repo.Update(context.Background(), id, md, func(o *order.Order) error {
		_, err := fn(o)
		return err
	})
	if err != nil {
		t.Fatalf("Update(%s): %v", id, err)
	}
	return res
}

func TestRepositoryCreateLoadUpdate(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	repo := order.NewRepository(store)

	res := create(t, repo, "o-1")
	if len(res.Events) != 1 || res.Events[0].EventType != order.TypePlaced || res.Events[0].Version != order.PlacedVersion {
		t.Fatalf("Create events: got %+v, want one order.placed v2", res.Events)
	}
	if res.Events[0].Metadata != md || !res.Events[0].Timestamp.Equal(at(0)) {
		t.Errorf("Create envelope: metadata %+v timestamp %v, want %+v %v", res.Events[0].Metadata, res.Events[0].Timestamp, md, at(0))
	}
	if res.Append.Version != 1 || res.Order.Version != 1 {
		t.Errorf("versions after Create: append %d order %d, want 1 and 1", res.Append.Version, res.Order.Version)
	}
	if got := len(store.streams["order-o-1"]); got != 1 {
		t.Errorf("stream order-o-1: got %d events, want 1", got)
	}

	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("pay-1", at(1)) })
	res = update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("pay-1", at(2)) })
	if len(res.Events) != 0 || res.Append != (eventstore.AppendResult{}) {
		t.Errorf("repeated MarkPaid: got %d events, append %+v, want a no-op", len(res.Events), res.Append)
	}
	o, err := repo.Load(ctx, "o-1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if o.Status != order.StatusPaid || o.Version != 2 || o.PaymentID != "pay-1" || !o.PaidAt.Equal(at(1)) {
		t.Errorf("Load: got status %q version %d payment %q paidAt %v, want paid, 2, pay-1, %v", o.Status, o.Version, o.PaymentID, o.PaidAt, at(1))
	}
	if len(o.Changes()) != 0 {
		t.Errorf("Load: got %d pending changes, want 0", len(o.Changes()))
	}
}

func TestRepositoryErrors(t *testing.T) {
	ctx := context.Background()
	repo := order.NewRepository(newMemStore())
	create(t, repo, "o-1")
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("", at(1)) })
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkReserved("", at(2)) })
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkShipped("UPS", "1Z", at(3)) })

	place := func(id string) func(*order.Order) error {
		return func(o *order.Order) error { _, err := o.Place(placeCmd(id)); return err }
	}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"create existing", func() error { _, err := repo.Create(ctx, "o-1", md, place("o-1")); return err }, order.ErrExists},
		{"create with other id", func() error { _, err := repo.Create(ctx, "o-2", md, place("o-3")); return err }, order.ErrInvalid},
		{"create raising nothing", func() error {
			_, err := repo.Create(ctx, "o-2", md, func(*order.Order) error { return nil })
			return err
		}, order.ErrInvalid},
		{"create with bad metadata", func() error { _, err := repo.Create(ctx, "o-2", event.Metadata{}, place("o-2")); return err }, event.ErrMalformed},
		{"update missing", func() error {
			_, err := repo.Update(ctx, "nope", md, func(o *order.Order) error { return nil })
			return err
		}, order.ErrNotFound},
		{"load missing", func() error { _, err := repo.Load(ctx, "nope"); return err }, order.ErrNotFound},
		{"load at missing", func() error { _, err := repo.LoadAt(ctx, "nope", at(9)); return err }, order.ErrNotFound},
		{"cancel shipped", func() error {
			_, err := repo.Update(ctx, "o-1", md, func(o *order.Order) error {
				_, err := o.Cancel(order.ReasonCustomerCancelled, at(4))
				return err
			})
			return err
		}, order.ErrIllegalTransition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	o, err := repo.Load(ctx, "o-1")
	if err != nil || o.Status != order.StatusShipped || o.Version != 4 {
		t.Errorf("after failed commands: got %+v, %v, want shipped at version 4", o, err)
	}
}

func TestRepositoryClosureErrorWritesNothing(t *testing.T) {
	store := newMemStore()
	repo := order.NewRepository(store)
	create(t, repo, "o-1")
	boom := errors.New("boom")
	_, err := repo.Update(context.Background(), "o-1", md, func(o *order.Order) error {
		if _, err := o.MarkPaid("", at(1)); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: got %v, want boom", err)
	}
	if got := len(store.streams["order-o-1"]); got != 1 {
		t.Errorf("stream: got %d events, want 1", got)
	}
}

// TestRepositoryConcurrentUpdates runs racing writers on one order: every
// update must land exactly once, with conflicts retried.
func TestRepositoryConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	// Yield before every append so that writers interleave between their
	// load and their append.
	store.beforeAppend = func() { time.Sleep(time.Millisecond) }
	repo := order.NewRepository(store, order.MaxAttempts(20))
	const orders, writers = 4, 8
	for i := range orders {
		create(t, repo, fmt.Sprintf("o-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, orders*writers)
	for i := range orders {
		id := fmt.Sprintf("o-%d", i)
		for w := range writers {
			wg.Go(func() {
				_, err := repo.Update(ctx, id, md, func(o *order.Order) error {
					var err error
					switch w % 4 {
					case 0:
						_, err = o.MarkPaid(fmt.Sprint("pay-", w), at(1))
					case 1:
						if o.Status == order.StatusPaid {
							_, err = o.MarkReserved("", at(2))
						}
					case 2:
						o.Apply(order.Unknown{}) // not saved: only raised events are
					case 3:
						if o.Status == order.StatusPlaced {
							_, err = o.Cancel(order.ReasonCustomerCancelled, at(3))
						}
					}
					if errors.Is(err, order.ErrIllegalTransition) {
						return nil // lost the race to a cancel or to payment
					}
					return err
				})
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	if store.conflicts == 0 {
		t.Errorf("no version conflict happened; the test did not exercise retries")
	}
	for i := range orders {
		id := fmt.Sprintf("o-%d", i)
		recs := store.streams[order.StreamID(id)]
		var types []string
		for j, r := range recs {
			types = append(types, r.Event.EventType)
			if r.Version != int64(j+1) {
				t.Errorf("%s: record %d has version %d", id, j, r.Version)
			}
		}
		// Each of the 8 writers ran once successfully: two MarkPaid (one
		// emits), two MarkReserved, two Cancel — the final history is
		// legal, with no duplicate transition.
		o, err := repo.Load(ctx, id)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		seen := map[string]int{}
		for _, ty := range types {
			seen[ty]++
		}
		for ty, n := range seen {
			if n > 1 {
				t.Errorf("%s: %s appended %d times (history %v)", id, ty, n, types)
			}
		}
		if o.Status != order.StatusCancelled && seen[order.TypePaid] != 1 {
			t.Errorf("%s: status %s without exactly one payment (history %v)", id, o.Status, types)
		}
	}
}

// conflictStore always reports a conflict on Append.
type conflictStore struct{ *memStore }

func (s conflictStore) Append(ctx context.Context, stream string, expected int64, evs []event.Envelope, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	return eventstore.AppendResult{}, &eventstore.ConflictError{Stream: stream, Expected: expected, Actual: expected + 1}
}

func TestRepositoryGivesUpAfterMaxAttempts(t *testing.T) {
	mem := newMemStore()
	create(t, order.NewRepository(mem), "o-1")
	calls := 0
	repo := order.NewRepository(conflictStore{mem}, order.MaxAttempts(3))
	_, err := repo.Update(context.Background(), "o-1", md, func(o *order.Order) error {
		calls++
		_, err := o.MarkPaid("", at(1))
		return err
	})
	if !errors.Is(err, order.ErrTooManyConflicts) || !errors.Is(err, eventstore.ErrConflict) {
		t.Errorf("Update: got %v, want ErrTooManyConflicts wrapping ErrConflict", err)
	}
	if calls != 3 {
		t.Errorf("closure calls: got %d, want 3", calls)
	}
}

func TestRepositoryUpdateHonoursContext(t *testing.T) {
	mem := newMemStore()
	create(t, order.NewRepository(mem), "o-1")
	ctx, cancel := context.WithCancel(context.Background())
	repo := order.NewRepository(conflictStore{mem}, order.MaxAttempts(1000))
	calls := 0
	_, err := repo.Update(ctx, "o-1", md, func(o *order.Order) error {
		calls++
		if calls == 2 {
			cancel()
		}
		_, err := o.MarkPaid("", at(1))
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update: got %v, want context.Canceled", err)
	}
}

func TestRepositorySnapshots(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	repo := order.NewRepository(store, order.SnapshotEvery(2))
	create(t, repo, "o-1")
	if _, ok := store.snapshots["order-o-1"]; ok {
		t.Fatalf("snapshot after 1 event, want none before 2")
	}
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("pay-1", at(1)) })
	snap, ok := store.snapshots["order-o-1"]
	if !ok || snap.Version != 2 || snap.Type != order.SnapshotType {
		t.Fatalf("snapshot after 2 events: got %+v, %v, want version 2 of type %s", snap, ok, order.SnapshotType)
	}
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkReserved("r", at(2)) })
	if got := store.snapshots["order-o-1"].Version; got != 2 {
		t.Errorf("snapshot version after 3 events: got %d, want 2", got)
	}
	store.loads = nil
	o, err := repo.Load(ctx, "o-1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(store.loads) != 1 || store.loads[0] != 2 {
		t.Errorf("Load read events after versions %v, want [2] (snapshot + tail)", store.loads)
	}
	if o.Status != order.StatusReserved || o.Version != 3 || o.PaymentID != "pay-1" || o.TotalMinor != 3098 {
		t.Errorf("Load from snapshot: got %+v", o)
	}
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkShipped("UPS", "1Z", at(3)) })
	if got := store.snapshots["order-o-1"].Version; got != 4 {
		t.Errorf("snapshot version after 4 events: got %d, want 4", got)
	}

	// An unreadable snapshot is ignored: all events are folded.
	store.snapshots["order-o-1"] = eventstore.Snapshot{StreamID: "order-o-1", Version: 4, Type: "order/v0", Data: []byte("?")}
	store.loads = nil
	o, err = repo.Load(ctx, "o-1")
	if err != nil || o.Status != order.StatusShipped || len(store.loads) != 1 || store.loads[0] != 0 {
		t.Errorf("Load with unknown snapshot: got %v, %v, loads %v; want shipped from all events", o, err, store.loads)
	}
}

func TestRepositoryLoadAt(t *testing.T) {
	ctx := context.Background()
	repo := order.NewRepository(newMemStore(), order.SnapshotEvery(1))
	create(t, repo, "o-1")
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("", at(10)) })
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.Cancel(order.ReasonOutOfStock, at(20)) })
	tests := []struct {
		at      time.Time
		status  order.Status
		version int64
	}{
		{at(0), order.StatusPlaced, 1},
		{at(9), order.StatusPlaced, 1},
		{at(10), order.StatusPaid, 2},
		{at(19).Add(59 * time.Second), order.StatusPaid, 2},
		{at(20), order.StatusCancelled, 3},
		{at(1000), order.StatusCancelled, 3},
	}
	for _, tt := range tests {
		o, err := repo.LoadAt(ctx, "o-1", tt.at)
		if err != nil {
			t.Fatalf("LoadAt(%v): %v", tt.at, err)
		}
		if o.Status != tt.status || o.Version != tt.version {
			t.Errorf("LoadAt(%v): got %s v%d, want %s v%d", tt.at, o.Status, o.Version, tt.status, tt.version)
		}
	}
	if _, err := repo.LoadAt(ctx, "o-1", at(-1)); !errors.Is(err, order.ErrNotFound) {
		t.Errorf("LoadAt before placement: got %v, want ErrNotFound", err)
	}
}

func TestRepositoryOutbox(t *testing.T) {
	store := newMemStore()
	repo := order.NewRepository(store, order.WithOutbox(func(_ context.Context, o *order.Order, evs []event.Envelope) ([]outbox.Message, error) {
		var msgs []outbox.Message
		for _, e := range evs {
			msgs = append(msgs, outbox.Message{Topic: "orders", Key: o.UserID, Value: []byte(e.EventID)})
		}
		return msgs, nil
	}))
	res := create(t, repo, "o-1")
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("", at(1)) })
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("", at(2)) }) // no-op
	recs := store.streams["order-o-1"]
	if len(store.outbox) != 2 || len(recs) != 2 {
		t.Fatalf("outbox: got %d messages for %d events, want 2 for 2", len(store.outbox), len(recs))
	}
	for i, m := range store.outbox {
		if m.Topic != "orders" || m.Key != "u-42" || string(m.Value) != recs[i].Event.EventID {
			t.Errorf("outbox[%d]: got %+v, want topic orders, key u-42, value %s", i, m, recs[i].Event.EventID)
		}
	}
	if string(store.outbox[0].Value) != res.Events[0].EventID {
		t.Errorf("Create result event id %s differs from the outbox's %s", res.Events[0].EventID, store.outbox[0].Value)
	}

	failing := order.NewRepository(store, order.WithOutbox(func(context.Context, *order.Order, []event.Envelope) ([]outbox.Message, error) {
		return nil, errors.New("no topic")
	}))
	if _, err := failing.Update(context.Background(), "o-1", md, func(o *order.Order) error {
		_, err := o.MarkReserved("", at(3))
		return err
	}); err == nil {
		t.Errorf("Update with failing outbox func: got no error")
	}
	if got := len(store.streams["order-o-1"]); got != 2 {
		t.Errorf("stream after failing outbox func: got %d events, want 2", got)
	}
}

// TestRepositoryUpcastsStoredV1 loads a stream whose first event was
// stored as order.placed v1, with a foreign event in it.
func TestRepositoryUpcastsStoredV1(t *testing.T) {
	store := newMemStore()
	store.appendRaw("order-o-1", event.Envelope{EventID: "e-1", EventType: order.TypePlaced, Version: 1,
		Timestamp: at(0), Data: []byte(placedV1Data), Metadata: md})
	store.appendRaw("order-o-1", event.Envelope{EventID: "e-2", EventType: "order.note-added", Version: 1,
		Timestamp: at(1), Data: []byte(`{}`), Metadata: md})
	repo := order.NewRepository(store)
	res := update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("", at(2)) })
	o := res.Order
	if o.Version != 3 || o.TotalMinor != 2627 || o.Currency != "USD" || o.Items[1].UnitPriceMinor != 29 || o.Status != order.StatusPaid {
		t.Errorf("order from v1 stream: got %+v", o)
	}
	if got := store.streams["order-o-1"][2].Version; got != 3 {
		t.Errorf("appended at version %d, want 3", got)
	}

	bad := newMemStore()
	bad.appendRaw("order-o-2", event.Envelope{EventID: "e-1", EventType: order.TypePlaced, Version: 1,
		Timestamp: at(0), Data: []byte(`{"items":[{"price":1.001}],"totalAmount":1}`), Metadata: md})
	if _, err := order.NewRepository(bad).Load(context.Background(), "o-2"); !errors.Is(err, order.ErrBadEvent) || !errors.Is(err, event.ErrUpcast) {
		t.Errorf("Load of a bad v1 event: got %v, want ErrBadEvent and ErrUpcast", err)
	}
}
