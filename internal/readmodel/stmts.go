package readmodel

import (
	"sync/atomic"

	"github.com/causeway-dev/causeway/projection"
)

// stmts memoizes the SQL statements of a view, which embed its tables'
// physical names: one set for the live tables, one for a rebuild's shadow
// tables (projection.Tables names a table by its logical name and whether
// it is the shadow copy, nothing else). A set is built on first use. A
// nil *stmts builds the set on every call. Safe for concurrent use: the
// live runner and a rebuild apply at the same time.
type stmts[S any] struct {
	live, shadow atomic.Pointer[S]
}

// get returns the statements for t, built by build the first time.
func (c *stmts[S]) get(t projection.Tables, build func(projection.Tables) *S) *S {
	if c == nil {
		return build(t)
	}
	slot := &c.live
	if t.Shadow() {
		slot = &c.shadow
	}
	if s := slot.Load(); s != nil {
		return s
	}
	s := build(t)
	slot.Store(s) // a racing build stores the same statements
	return s
}
