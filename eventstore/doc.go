// Package eventstore defines the contract of Causeway's append-only event
// store: streams of versioned events with optimistic concurrency, a global
// commit-ordered log, temporal queries and snapshots.
//
// eventstore/sqlstore implements it over sqldb (SQLite and PostgreSQL);
// eventstore/storetest is the conformance suite every implementation passes.
package eventstore
