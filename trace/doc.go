// Package trace rebuilds the causation tree of one flow from the events
// themselves: every event whose metadata.correlationId is the flow's,
// linked to its cause by metadata.causationId.
//
// A Tracer scans Kafka's event, command and reply topics, bounded (each
// partition from its start offset to the end offset it had when the call
// began), filtering on the ce_correlationid header before decoding a
// record's value, and merges what the order service's event store holds
// (eventstore.CorrelationReader), deduplicated by event id. Build turns
// the events into a Flow: roots (the first event, and orphans whose cause
// was not found), children by timestamp with their latency from the cause
// (negative latencies are flagged as clock skew), a flat timeline and the
// flow's duration. WriteTree prints it with box-drawing characters.
//
// The package does not import internal/: it reads envelopes without the
// platform's schema registry, so it traces any Causeway-shaped flow.
package trace
