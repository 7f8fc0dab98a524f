package fifo_test

import (
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/internal/fifo"
)

func TestMapEvictsOldestInserted(t *testing.T) {
	m := fifo.New[string, int](3)
	for i := range 3 {
		m.Put(fmt.Sprint("k", i), i)
	}
	m.Put("k0", 10) // an update keeps k0's place (oldest)
	m.Put("k3", 3)  // evicts k0
	m.Put("k4", 4)  // evicts k1
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	for k, want := range map[string]int{"k2": 2, "k3": 3, "k4": 4} {
		if v, ok := m.Get(k); !ok || v != want {
			t.Errorf("Get(%s) = %d, %v; want %d", k, v, ok, want)
		}
	}
	for _, k := range []string{"k0", "k1"} {
		if _, ok := m.Get(k); ok {
			t.Errorf("%s still there, want evicted", k)
		}
	}
	for i := 5; i < 100; i++ { // the ring wraps around many times
		m.Put(fmt.Sprint("k", i), i)
	}
	if _, ok := m.Get("k99"); !ok || m.Len() != 3 {
		t.Errorf("after wrapping: k99 present %v, Len %d; want true, 3", ok, m.Len())
	}
}
