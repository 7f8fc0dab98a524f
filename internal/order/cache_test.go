package order_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/causeway-dev/causeway/internal/order"
)

// TestStateCacheEqualsFold drives orders through every path with a cached
// repository and checks, after each step, that the state it loads (from
// the cache plus the events after it) equals the fold of the whole stream
// by a repository without a cache, and that the cache was used.
func TestStateCacheEqualsFold(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	cache := order.NewStateCache(0)
	cached := order.NewRepository(store, order.WithStateCache(cache, nil))
	plain := order.NewRepository(store)
	paths := map[string][]func(*order.Order) ([]order.Event, error){
		"shipped": {
			func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("pay-1", at(1)) },
			func(o *order.Order) ([]order.Event, error) { return o.MarkReserved("res-1", at(2)) },
			func(o *order.Order) ([]order.Event, error) { return o.MarkShipped("DHL", "T-1", at(3)) },
		},
		"cancelled": {
			func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("pay-2", at(1)) },
			func(o *order.Order) ([]order.Event, error) { return o.Cancel(order.ReasonOutOfStock, at(2)) },
		},
	}
	for id, steps := range paths {
		create(t, cached, id)
		for i, step := range append([]func(*order.Order) ([]order.Event, error){nil}, steps...) {
			if step != nil {
				update(t, cached, id, step)
			}
			want, err := plain.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cached.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s after step %d: cached state\n%+v\nwant the fold\n%+v", id, i, got, want)
			}
		}
	}
	if loads, hits := cache.Stats(); hits == 0 || hits != loads {
		t.Errorf("cache answered %d of %d loads, want all of them", hits, loads)
	}
}

// TestStateCacheSeesOtherWriters: events another writer (without the
// cache) appended after the cached version are folded on top of it.
func TestStateCacheSeesOtherWriters(t *testing.T) {
	ctx := context.Background()
	store := newMemStore()
	cache := order.NewStateCache(0)
	cached := order.NewRepository(store, order.WithStateCache(cache, nil))
	other := order.NewRepository(store)
	create(t, cached, "o-1")
	update(t, other, "o-1", func(o *order.Order) ([]order.Event, error) { return o.Cancel(order.ReasonCustomerCancelled, at(1)) })
	o, err := cached.Load(ctx, "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != order.StatusCancelled || o.Version != 2 {
		t.Fatalf("cached repository loaded status %s version %d, want cancelled at 2 (the other writer's event)", o.Status, o.Version)
	}
	if store.loads[len(store.loads)-1] != 1 {
		t.Errorf("load read after version %d, want after the cached version 1", store.loads[len(store.loads)-1])
	}
	// A copy is handed out: changing it does not change the cache.
	o.Status = order.StatusShipped
	if again, _ := cached.Load(ctx, "o-1"); again.Status != order.StatusCancelled {
		t.Errorf("a caller's change reached the cache: status %s", again.Status)
	}
}

// TestStateCacheOnlyAfterCommit: with a commit hook, nothing enters the
// cache until the hook runs, and a write whose hook never runs (a rolled
// back transaction) leaves the cache as it was.
func TestStateCacheOnlyAfterCommit(t *testing.T) {
	store := newMemStore()
	cache := order.NewStateCache(0)
	var hooks []func()
	repo := order.NewRepository(store, order.WithStateCache(cache, func(f func()) { hooks = append(hooks, f) }))
	create(t, repo, "o-1")
	if cache.Len() != 0 {
		t.Fatalf("cache holds %d orders before the commit hook ran", cache.Len())
	}
	hooks[0]()
	hooks = nil
	if cache.Len() != 1 {
		t.Fatalf("cache holds %d orders after the commit hook, want 1", cache.Len())
	}
	// An update whose hook is dropped (rolled back): the stream is then
	// put back to version 1, as the rollback would.
	update(t, repo, "o-1", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("pay-1", at(1)) })
	store.streams[order.StreamID("o-1")] = store.streams[order.StreamID("o-1")][:1]
	hooks = nil
	o, err := repo.Load(context.Background(), "o-1")
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != order.StatusPlaced || o.Version != 1 {
		t.Errorf("after a rolled-back update the cached repository loads %s at %d, want placed at 1", o.Status, o.Version)
	}
}

// TestStateCacheBounded: the cache forgets the oldest orders beyond its
// size and keeps the newest version of each.
func TestStateCacheBounded(t *testing.T) {
	store := newMemStore()
	cache := order.NewStateCache(3)
	repo := order.NewRepository(store, order.WithStateCache(cache, nil))
	for i := range 5 {
		create(t, repo, fmt.Sprintf("o-%d", i))
	}
	if cache.Len() != 3 {
		t.Fatalf("cache holds %d orders, want its size 3", cache.Len())
	}
	loads := len(store.loads)
	o, err := repo.Load(context.Background(), "o-0")
	if err != nil || o.Version != 1 {
		t.Fatalf("Load of an evicted order: %v, %v", o, err)
	}
	if store.loads[loads] != 0 {
		t.Errorf("evicted order loaded after version %d, want the whole stream (0)", store.loads[loads])
	}
	update(t, repo, "o-4", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("p", at(1)) })
	if o, _ := repo.Load(context.Background(), "o-4"); o.Status != order.StatusPaid {
		t.Errorf("o-4: %s, want paid", o.Status)
	}
	if store.loads[len(store.loads)-1] != 2 {
		t.Errorf("o-4 loaded after version %d, want the cached 2", store.loads[len(store.loads)-1])
	}
}
