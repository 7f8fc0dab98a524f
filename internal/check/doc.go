// Package check verifies the invariants of the order platform after a run,
// from the services' databases: every accepted order exists and is
// terminal with its path's outcome, order streams are contiguous and
// follow legal transitions, stock and money are conserved, no side effect
// is duplicated or left behind, every outbox is drained, and the
// dead-letter topics hold what was expected.
package check
