// Package outbox implements the transactional outbox: Enqueue writes Kafka
// records into an outbox table inside the caller's database transaction, and
// the Relay publishes committed rows to Kafka at least once, in order per
// key, marking a row sent only after the broker acknowledged it.
package outbox
