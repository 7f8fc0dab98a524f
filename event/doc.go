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
// never panics: malformed input, an unknown type and an unknown version each
// return a *DecodeError matching ErrMalformed, ErrUnknownType or
// ErrUnknownVersion with errors.Is.
package event
