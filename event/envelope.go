package event

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// TimeLayout is the envelope's timestamp format: RFC 3339 in UTC with
// milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Envelope is one immutable, versioned event.
type Envelope struct {
	// EventID identifies the event; a UUIDv7, so ids sort by creation time.
	EventID string
	// EventType is the registered type name, e.g. "order.placed".
	EventType string
	// Timestamp is when the event happened, kept to the millisecond in UTC.
	Timestamp time.Time
	// Version is the schema version of Data.
	Version int
	// Data is the event's payload: a JSON object.
	Data json.RawMessage
	// Metadata carries the correlation and causation chain.
	Metadata Metadata
}

// Metadata links an event to its flow and its cause.
type Metadata struct {
	// CorrelationID is shared by every event of one flow (one order).
	CorrelationID string `json:"correlationId"`
	// CausationID is the EventID of the event whose handling produced this
	// one; empty for the first event of a flow.
	CausationID string `json:"causationId"`
	// Source names the service that produced the event, e.g. "order-service".
	Source string `json:"source"`
}

// wireEnvelope is the JSON shape of an Envelope, with exactly the fields of
// the external contract.
type wireEnvelope struct {
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	Timestamp string          `json:"timestamp"`
	Version   int             `json:"version"`
	Data      json.RawMessage `json:"data"`
	Metadata  Metadata        `json:"metadata"`
}

// MarshalJSON encodes the envelope in its wire form, with the timestamp in
// TimeLayout.
func (e Envelope) MarshalJSON() ([]byte, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return json.Marshal(wireEnvelope{
		EventID:   e.EventID,
		EventType: e.EventType,
		Timestamp: e.Timestamp.UTC().Format(TimeLayout),
		Version:   e.Version,
		Data:      data,
		Metadata:  e.Metadata,
	})
}

// UnmarshalJSON decodes the wire form without validating it; use
// Codec.Decode for validated, upcast envelopes.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var w wireEnvelope
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	ts, err := time.Parse(time.RFC3339Nano, w.Timestamp)
	if err != nil {
		return fmt.Errorf("event: timestamp: %w", err)
	}
	*e = Envelope{
		EventID:   w.EventID,
		EventType: w.EventType,
		Timestamp: ts.UTC(),
		Version:   w.Version,
		Data:      w.Data,
		Metadata:  w.Metadata,
	}
	return nil
}

// NewID returns a new UUIDv7 event id.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only when the system's random source does.
		return uuid.NewString()
	}
	return id.String()
}

// New builds an envelope for data (marshalled to JSON) with a fresh UUIDv7
// id and the current time truncated to milliseconds.
func New(eventType string, version int, data any, md Metadata) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("event: marshal %s data: %w", eventType, err)
	}
	return Envelope{
		EventID:   NewID(),
		EventType: eventType,
		Timestamp: time.Now().UTC().Truncate(time.Millisecond),
		Version:   version,
		Data:      raw,
		Metadata:  md,
	}, nil
}

// UnmarshalData decodes the envelope's data into v.
func (e Envelope) UnmarshalData(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("event: %s v%d data: %w", e.EventType, e.Version, err)
	}
	return nil
}

// CausedBy returns the metadata of an event produced while handling cause:
// the same correlation id, causationId = cause's eventId, and source.
func CausedBy(cause Envelope, source string) Metadata {
	return Metadata{
		CorrelationID: cause.Metadata.CorrelationID,
		CausationID:   cause.EventID,
		Source:        source,
	}
}

// StartFlow returns the metadata of the first event of a new flow: a fresh
// correlation id and no cause.
func StartFlow(source string) Metadata {
	return Metadata{CorrelationID: NewID(), Source: source}
}
