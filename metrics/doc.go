// Package metrics measures Causeway for Prometheus and for operators: consumer
// lag in records and in seconds, dead-letter depth, and collectors for the
// consumer runtime, the outbox relay, HTTP, sagas and Kafka clients.
//
// Nothing here is global: every constructor takes the prometheus.Registerer
// to register with (nil: register yourself), and Handler serves a
// prometheus.Gatherer. NewRegistry adds the Go and process collectors.
//
// # Lag
//
// Lag and Describe are plain functions, used both by LagCollector (scraped
// into causeway_consumer_lag_records and causeway_consumer_lag_seconds) and
// by `causeway status`. Lag in records is the partition's end offset minus
// the group's committed offset (minus the log start offset when nothing is
// committed), as kafka-consumer-groups computes it. Lag in seconds is the
// age of the oldest record the group has not consumed: the record at the
// committed offset is read with a short-lived client that consumes that
// partition directly from that offset (bounded by DefaultProbeTimeout), and
// its timestamp is subtracted from the time of measurement; a group that is
// caught up has lag 0 s. The records' timestamps are their producer
// CreateTime (or the broker's LogAppendTime on topics configured so); the
// outbox relay's records are stamped when they are produced. Dead-letter
// depth is the number of records retained in dlq.<group> (end minus start
// offsets), and the oldest dead letter is dated the same way.
//
// LagCollector measures at most once per LagMinInterval, however many
// scrapers there are, so scrapes do not hammer the broker.
//
// # Runtime collectors
//
//   - ConsumerMetrics: counters from consumer.Runner.Stats, accumulated from
//     their differences (they never go down), and Middleware for handler
//     duration and publish → handled latency.
//   - OutboxMetrics: an outbox.Observer per service (published, failed,
//     relay latency histogram) and the backlog, counted at scrape time.
//   - HTTPMetrics: Middleware around a ServeMux, labelled by route pattern.
//   - SagaMetrics: saga duration histogram and instances by state, fed by
//     the saga code.
//   - KafkaHooks: kgo hooks counting records produced and consumed per topic.
//
// Metric names follow the Prometheus conventions: the causeway_ prefix,
// base units (seconds), _total for counters. The README lists every metric.
package metrics
