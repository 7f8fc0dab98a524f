package order

import (
	"slices"
	"sync"

	"github.com/causeway-dev/causeway/internal/fifo"
)

// DefaultStateCacheSize is the number of orders NewStateCache keeps when
// given a size below 1.
const DefaultStateCacheSize = 50_000

// StateCache keeps the committed state of recently written orders in
// memory, so that a Repository built WithStateCache folds only the events
// appended after the cached version instead of the whole stream: the saga
// step of the order service, which runs three to four times per order,
// then reads no event at all unless another writer appended meanwhile.
//
// It is an in-memory snapshot and as safe as one: a cached state at
// version v is the fold of the stream's first v events, which never change
// once committed, so a state of any age is a correct starting point; what
// other writers (another instance, the API) appended since is read from
// the store. The one rule is that only committed states enter it: the
// Repository puts a state through its commit hook, which a rolled-back
// transaction (or savepoint, sqldb.Tx.Savepoint) never runs.
//
// It holds at most its size of orders and forgets the oldest-inserted one
// first. It is safe for concurrent use.
type StateCache struct {
	mu    sync.Mutex
	m     *fifo.Map[string, *Order]
	hits  uint64
	calls uint64
}

// NewStateCache returns a cache of up to size orders
// (DefaultStateCacheSize when size < 1).
func NewStateCache(size int) *StateCache {
	if size < 1 {
		size = DefaultStateCacheSize
	}
	return &StateCache{m: fifo.New[string, *Order](size)}
}

// get returns a copy of the cached state of order id, which the caller
// owns.
func (c *StateCache) get(id string) (*Order, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	o, ok := c.m.Get(id)
	if !ok {
		return nil, false
	}
	c.hits++
	return o.clone(), true
}

// put keeps o (which the cache then owns) unless a later version of the
// same order is cached already.
func (c *StateCache) put(o *Order) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m.Get(o.ID); ok && old.Version >= o.Version {
		return
	}
	c.m.Put(o.ID, o)
}

// Stats returns how many loads asked the cache and how many it answered.
func (c *StateCache) Stats() (loads, hits uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.hits
}

// Len returns how many orders the cache holds.
func (c *StateCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m.Len()
}

// clone returns a deep copy of o without its pending changes.
func (o *Order) clone() *Order {
	c := *o
	c.Items = slices.Clone(o.Items)
	c.changes = nil
	return &c
}
