package event_test

import (
	"slices"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
)

func TestCloudEventsHeaders(t *testing.T) {
	e := event.Envelope{
		EventID: "e-2", EventType: "order.paid", Version: 1,
		Timestamp: time.Date(2026, 11, 25, 18, 5, 37, 123e6, time.FixedZone("x", 3600)),
		Metadata:  event.Metadata{CorrelationID: "c-1", CausationID: "e-1", Source: "order-service"},
	}
	tests := []struct {
		name    string
		e       event.Envelope
		subject string
		want    []event.Header
	}{
		{"all attributes", e, "o-1", []event.Header{
			{Key: "ce_specversion", Value: "1.0"},
			{Key: "ce_id", Value: "e-2"},
			{Key: "ce_source", Value: "order-service"},
			{Key: "ce_type", Value: "order.paid"},
			{Key: "ce_time", Value: "2026-11-25T17:05:37.123Z"},
			{Key: "ce_subject", Value: "o-1"},
			{Key: "ce_schemaversion", Value: "1"},
			{Key: "ce_correlationid", Value: "c-1"},
			{Key: "ce_causationid", Value: "e-1"},
			{Key: "content-type", Value: "application/json"},
		}},
		{"no subject, no causation", func() event.Envelope { x := e; x.Metadata.CausationID = ""; return x }(), "", []event.Header{
			{Key: "ce_specversion", Value: "1.0"},
			{Key: "ce_id", Value: "e-2"},
			{Key: "ce_source", Value: "order-service"},
			{Key: "ce_type", Value: "order.paid"},
			{Key: "ce_time", Value: "2026-11-25T17:05:37.123Z"},
			{Key: "ce_schemaversion", Value: "1"},
			{Key: "ce_correlationid", Value: "c-1"},
			{Key: "content-type", Value: "application/json"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := event.CloudEventsHeaders(tt.e, tt.subject); !slices.Equal(got, tt.want) {
				t.Errorf("CloudEventsHeaders:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}
