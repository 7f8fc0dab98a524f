// Package storetest is the conformance suite of eventstore.Store: every
// implementation runs Run against a fresh store per test, like watermill's
// pubsub/tests. It checks behaviour (round trips, optimistic concurrency,
// idempotency, the gap-free global log, temporal reads, snapshots, ctx and
// argument handling), never timing.
package storetest
