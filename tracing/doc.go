// Package tracing is the OpenTelemetry glue shared by the HTTP API, the
// outbox relay and the consumer runner: the W3C trace context carried in
// Kafka record headers, and the rule that a disabled tracer costs nothing.
//
// Nothing here is global. Every component takes a trace.TracerProvider
// option (nil or a noop provider: tracing off) and asks Tracer for its
// tracer; a nil Tracer means "do not instrument", so the hot path has no
// span, no context value and no header parsing when tracing is off.
//
// How one trace crosses Kafka: a span's context is written into the
// outbox row's traceparent header inside the same transaction as the
// state change (Traceparent); the relay starts a producer span as a child
// of that stored context and replaces the header with its own context
// when it produces the record; a consumer starts its handler span as a
// child of the record's traceparent (ContextFromHeader), and events the
// handler writes to its outbox carry the handler span's context, and so
// on to the end of the flow.
//
// This package is OpenTelemetry tracing. Package trace is something else:
// the causation tree of one flow, rebuilt from the events' own metadata.
package tracing
