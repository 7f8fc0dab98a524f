// Package causeway is an event-driven order platform built on Apache Kafka,
// and the toolkit it is made of.
//
// Package map:
//
//   - event: the event envelope, type registry, JSON codec and upcasters.
//   - eventstore: the event store contract; eventstore/sqlstore implements it
//     over database/sql; eventstore/storetest is the conformance suite.
//   - sqldb: a database handle shared by every SQL-backed component
//     (write and read pools, dialect, transactions with commit hooks,
//     embedded migrations).
//   - sqlite, postgres: open and tune a sqldb.DB on each database.
//   - outbox: the transactional outbox table and the relay that publishes it.
//   - consumer: the consumer-group runtime (ordering, dedup, retries,
//     dead letters, key-aware parking).
//   - kafka: franz-go wiring, topic specs and the embedded kfake broker.
//   - saga, projection, metrics: orchestration, read models, monitoring.
//
// Library packages never import internal/; only cmd/ wires things together.
package causeway
