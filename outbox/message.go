package outbox

import "time"

// Header is one Kafka record header.
type Header struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Message is one row of the outbox: a Kafka record waiting to be published.
// Rows are published in ID order; per Key, that order is kept on the bus.
type Message struct {
	// ID is assigned by the database on insert. On SQLite it increases in
	// commit order; on PostgreSQL concurrent transactions may commit out of
	// id order, which the relay handles (see the package documentation).
	ID int64
	// Topic is the Kafka topic to publish to.
	Topic string
	// Key is the record key (the partition key). Records with the same key
	// keep their order.
	Key string
	// Value is the record value, normally an event.Envelope as JSON.
	Value []byte
	// Headers are the record headers (traceparent, ce_* attributes, …).
	Headers []Header
	// CreatedAt is when the row was written.
	CreatedAt time.Time
}
