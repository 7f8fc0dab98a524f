// Package fifo is a map bounded by size that forgets its oldest-inserted
// keys first: the in-memory caches of the services (an order's state, the
// orders that may have early saga events) keep the newest entries and
// never grow past their size.
package fifo

// Map is a map of at most its size entries. When full, inserting a new
// key evicts the key inserted longest ago; updating a key keeps its place.
// It is not safe for concurrent use: its users lock around it.
type Map[K comparable, V any] struct {
	m    map[K]V
	ring []K // keys in insertion order, for eviction
	next int // the ring slot the next new key takes once full
}

// New returns a Map of up to size entries (at least 1).
func New[K comparable, V any](size int) *Map[K, V] {
	size = max(size, 1)
	return &Map[K, V]{m: make(map[K]V, size), ring: make([]K, 0, size)}
}

// Get returns the value of k.
func (f *Map[K, V]) Get(k K) (V, bool) {
	v, ok := f.m[k]
	return v, ok
}

// Put sets the value of k, evicting the oldest key if k is new and the
// map is full.
func (f *Map[K, V]) Put(k K, v V) {
	if _, ok := f.m[k]; !ok {
		if len(f.ring) < cap(f.ring) {
			f.ring = append(f.ring, k)
		} else {
			delete(f.m, f.ring[f.next])
			f.ring[f.next] = k
			f.next = (f.next + 1) % len(f.ring)
		}
	}
	f.m[k] = v
}

// Len returns the number of entries.
func (f *Map[K, V]) Len() int { return len(f.m) }
