package event

import "strconv"

// Header is one Kafka record header. It has the same fields as
// outbox.Header, so a []Header converts element by element with
// outbox.Header(h).
type Header struct {
	Key   string
	Value string
}

// CloudEvents binary-mode header names (the Kafka protocol binding: "ce_"
// plus the attribute name). Extension attribute names are lowercase
// alphanumerics, as the CloudEvents spec requires.
const (
	HeaderSpecVersion   = "ce_specversion"
	HeaderID            = "ce_id"
	HeaderSource        = "ce_source"
	HeaderType          = "ce_type"
	HeaderTime          = "ce_time"
	HeaderSubject       = "ce_subject"
	HeaderSchemaVersion = "ce_schemaversion" // extension: the envelope's version
	HeaderCorrelationID = "ce_correlationid" // extension: metadata.correlationId
	HeaderCausationID   = "ce_causationid"   // extension: metadata.causationId
	HeaderContentType   = "content-type"
)

// CloudEventsHeaders returns the CloudEvents 1.0 binary-mode headers that
// mirror e, in this order: ce_specversion "1.0", ce_id (eventId), ce_source
// (metadata.source), ce_type (eventType), ce_time (timestamp, RFC 3339 with
// milliseconds, UTC), ce_subject (only when subject is not empty; normally
// the entity id, e.g. the order id), ce_schemaversion (version),
// ce_correlationid, ce_causationid (only when not empty), and content-type
// "application/json".
//
// The record value stays the whole envelope as JSON (API.md), so these
// headers duplicate what the value says; they let CloudEvents tooling route
// and filter without parsing it.
func CloudEventsHeaders(e Envelope, subject string) []Header {
	h := []Header{
		{HeaderSpecVersion, "1.0"},
		{HeaderID, e.EventID},
		{HeaderSource, e.Metadata.Source},
		{HeaderType, e.EventType},
		{HeaderTime, e.Timestamp.UTC().Format(TimeLayout)},
	}
	if subject != "" {
		h = append(h, Header{HeaderSubject, subject})
	}
	h = append(h,
		Header{HeaderSchemaVersion, strconv.Itoa(e.Version)},
		Header{HeaderCorrelationID, e.Metadata.CorrelationID},
	)
	if e.Metadata.CausationID != "" {
		h = append(h, Header{HeaderCausationID, e.Metadata.CausationID})
	}
	return append(h, Header{HeaderContentType, "application/json"})
}
