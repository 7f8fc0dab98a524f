// Package outbox implements the transactional outbox: Enqueue writes Kafka
// records into an outbox table inside the caller's database transaction, and
// the Relay publishes committed rows to Kafka at least once, in order per
// key, deleting a row only after the broker acknowledged it.
//
// # Ids and ordering
//
// Rows are published in id order. On SQLite (one writer) ids increase in
// commit order. On PostgreSQL an identity value is taken at insert time, so
// concurrent transactions can make a lower id visible after a higher one.
// Enqueue does not serialise writers to prevent that (an insert-time
// advisory lock would serialise every transaction that enqueues until it
// commits); instead the relay never remembers a position: each read starts
// at the lowest unsent id (skipping only rows it has in flight) and it
// deletes exactly the rows the broker acknowledged. A row that becomes
// visible late is simply found by the next read, and since rows of one key
// written one after the other become visible in that order, per-key order
// is kept; rows of concurrent transactions go out in commit order.
//
// # Failure
//
// A crash at any point (before the produce, between the broker's ack and
// the delete, during the delete) leaves the rows in the table, and the next
// relay publishes them again: delivery is at least once, so consumers
// deduplicate by event id. Per key, the first occurrence of every row on
// the bus is in id order.
package outbox
