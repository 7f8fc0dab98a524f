// Package interop holds cross-package tests that prove Causeway speaks
// Kafka to outside tools: kcat (librdkafka) reads what the outbox relay
// publishes, and Causeway's consumer runtime handles what kcat produces.
// It has no code of its own.
package interop
