// Package event defines Causeway's event envelope, the registry of event
// types and their versions, the JSON codec, and upcasters.
//
// Every event on the bus and in the event store is an Envelope:
//
//	{"eventId": "…uuidv7…", "eventType": "order.placed",
//	 "timestamp": "2026-11-25T18:05:37.123Z", "version": 2,
//	 "data": {…},
//	 "metadata": {"correlationId": "…", "causationId": "…", "source": "order-service"}}
//
// A Registry knows, per event type, the current version and a chain of
// upcasters vN→vN+1. Codec.Decode validates an envelope and upcasts its data
// to the current version, so readers only ever see the newest shape. Decode
// never panics: malformed input, an unknown type, an unknown version and a
// failing (or panicking) upcaster each return a *DecodeError matching
// ErrMalformed, ErrUnknownType, ErrUnknownVersion or ErrUpcast with
// errors.Is. Codec.Encode applies the same rules before writing, and
// Codec.Upcast upgrades envelopes that were parsed elsewhere (e.g. loaded
// from the event store).
//
// CloudEventsHeaders gives the CloudEvents 1.0 binary-mode Kafka headers
// (ce_id, ce_type, …) that mirror an envelope.
//
// There is no global registry: each service builds a Registry, registers
// its event types (e.g. order.RegisterEvents) and passes it to NewCodec.
package event
