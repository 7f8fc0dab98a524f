// Package kafka is Causeway's wiring to Apache Kafka through franz-go
// (kgo and kadm) and nothing else.
//
// It holds three things:
//
//   - Topic specs in code ([TopicSpec], [DefaultTopics],
//     [DeadLetterTopicSpec]) and [EnsureTopics], which creates missing
//     topics and reports existing ones that differ from their spec. Every
//     spec bounds its retention by bytes and by time: the embedded broker
//     keeps every retained record in memory.
//   - Client configuration ([ClientConfig]) with SASL (PLAIN, SCRAM-SHA-256,
//     SCRAM-SHA-512) and TLS, turned into kgo options with Causeway's
//     producer defaults: idempotent, acks=all, murmur2 key partitioning
//     (the same partition for a key as Java Kafka clients and librdkafka
//     with partitioner=murmur2_random).
//   - The embedded broker ([Broker], [StartBroker]): franz-go's kfake, a
//     single-node Kafka-protocol broker persisted in a data directory,
//     listening on a real TCP address so that kcat and any Kafka tool can
//     connect. It has no replication: it is a convenience for one machine,
//     not a substitute for a Kafka cluster.
//
// Nothing here keeps global state; loggers are injected (*slog.Logger, nil
// discards).
package kafka
