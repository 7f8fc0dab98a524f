// Package order is the event-sourced Order aggregate: its events, their
// versions and upcasters, the commands that decide which events happen, the
// evolve function that folds events into state, snapshots, and a Repository
// that loads and saves orders through an eventstore.Store.
//
// Everything but repository.go is pure: no I/O, no clock (commands take the
// time as an argument), no global state.
//
// Lifecycle: placed → paid → reserved → shipped, or cancelled (with a
// Reason) from placed, paid or reserved. shipped and cancelled are terminal.
//
// Commands are methods on *Order. Each validates its input and the current
// state, applies the resulting events to the order, records them as pending
// (see Order.Changes) and returns them. Repeating a command whose effect has
// already happened is a no-op: it returns no events and no error, so a
// redelivered message is harmless. A command the state forbids returns a
// *TransitionError (errors.Is ErrIllegalTransition); bad input returns a
// *ValidationError (errors.Is ErrInvalid) listing every problem.
//
// Money is int64 minor units (cents) with an ISO 4217 currency code.
// order.placed v1 carried decimal numbers; its upcaster converts them to
// minor units exactly, without floating point.
package order
