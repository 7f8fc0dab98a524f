package event_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
)

func TestDecodeUpcastsToLatest(t *testing.T) {
	codec := event.NewCodec(newTestRegistry(t))
	tests := []struct {
		name     string
		in       string
		wantVer  int
		wantData string
	}{
		{"v1 through two upcasters", envelopeJSON("thing.made", 1, `{"n": 7}`), 3, `{"count":7,"unit":"each"}`},
		{"v2 through one upcaster", envelopeJSON("thing.made", 2, `{"n":7,"unit":"box"}`), 3, `{"count":7,"unit":"box"}`},
		{"current version kept, compacted", envelopeJSON("thing.made", 3, "{ \"count\" : 7 ,\n \"x\":\"<&>\" }"), 3, `{"count":7,"x":"<&>"}`},
		{"type without upcasters", envelopeJSON("thing.gone", 1, `{}`), 1, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := codec.Decode([]byte(tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if e.Version != tt.wantVer {
				t.Errorf("Version: got %d, want %d", e.Version, tt.wantVer)
			}
			if got := string(e.Data); got != tt.wantData {
				t.Errorf("Data: got %s, want %s", got, tt.wantData)
			}
		})
	}
}

func TestDecodeFields(t *testing.T) {
	codec := event.NewCodec(newTestRegistry(t))
	in := `{"eventId":"e-1","eventType":"thing.gone","timestamp":"2026-11-25T20:05:37.123456+02:00",` +
		`"version":1,"data":{},"metadata":{"correlationId":"c-1","source":"s"}}`
	got, err := codec.Decode([]byte(in))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	want := event.Envelope{
		EventID:   "e-1",
		EventType: "thing.gone",
		Timestamp: time.Date(2026, 11, 25, 18, 5, 37, 123e6, time.UTC),
		Version:   1,
		Data:      json.RawMessage(`{}`),
		Metadata:  event.Metadata{CorrelationID: "c-1", Source: "s"},
	}
	if got.EventID != want.EventID || got.EventType != want.EventType || !got.Timestamp.Equal(want.Timestamp) ||
		got.Timestamp.Location() != time.UTC || got.Version != want.Version ||
		string(got.Data) != string(want.Data) || got.Metadata != want.Metadata {
		t.Errorf("Decode:\n got %+v\nwant %+v", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	codec := event.NewCodec(newTestRegistry(t))
	valid := envelopeJSON("thing.made", 3, `{"count":1}`)
	replace := func(old, new string) string {
		t.Helper()
		if !strings.Contains(valid, old) {
			t.Fatalf("test bug: %q not in %s", old, valid)
		}
		return strings.Replace(valid, old, new, 1)
	}
	tests := []struct {
		name     string
		in       string
		kind     error
		wantType string
		wantVer  int
	}{
		{"empty input", ``, event.ErrMalformed, "", 0},
		{"not JSON", `nope`, event.ErrMalformed, "", 0},
		{"JSON array", `[]`, event.ErrMalformed, "", 0},
		{"JSON null", `null`, event.ErrMalformed, "", 0},
		{"truncated", valid[:len(valid)-1], event.ErrMalformed, "", 0},
		{"trailing data", valid + ` {}`, event.ErrMalformed, "", 0},
		{"invalid UTF-8", replace(`"c-1"`, "\"c-\xff\""), event.ErrMalformed, "", 0},
		{"unknown field", replace(`"version":3`, `"version":3,"extra":1`), event.ErrMalformed, "", 0},
		{"duplicate field", replace(`"version":3`, `"version":3,"version":3`), event.ErrMalformed, "", 0},
		{"missing eventId", replace(`"eventId":"0195f3a2-7c1e-7000-8000-000000000001",`, ``), event.ErrMalformed, "", 0},
		{"empty eventId", replace(`"0195f3a2-7c1e-7000-8000-000000000001"`, `""`), event.ErrMalformed, "thing.made", 0},
		{"eventId too long", replace(`"0195f3a2-7c1e-7000-8000-000000000001"`, `"`+strings.Repeat("a", 129)+`"`), event.ErrMalformed, "thing.made", 0},
		{"eventId with control char", replace(`"0195f3a2-7c1e-7000-8000-000000000001"`, `"a\u0007b"`), event.ErrMalformed, "thing.made", 0},
		{"eventId a number", replace(`"0195f3a2-7c1e-7000-8000-000000000001"`, `12`), event.ErrMalformed, "thing.made", 0},
		{"eventType null", replace(`"thing.made"`, `null`), event.ErrMalformed, "", 0},
		{"timestamp not RFC 3339", replace(`"2026-11-25T18:05:37.123Z"`, `"25/11/2026"`), event.ErrMalformed, "thing.made", 0},
		{"timestamp without zone", replace(`"2026-11-25T18:05:37.123Z"`, `"2026-11-25T18:05:37"`), event.ErrMalformed, "thing.made", 0},
		{"timestamp a number", replace(`"2026-11-25T18:05:37.123Z"`, `1764093937`), event.ErrMalformed, "thing.made", 0},
		{"version zero", replace(`"version":3`, `"version":0`), event.ErrMalformed, "thing.made", 0},
		{"version negative", replace(`"version":3`, `"version":-1`), event.ErrMalformed, "thing.made", 0},
		{"version fraction", replace(`"version":3`, `"version":3.0`), event.ErrMalformed, "thing.made", 0},
		{"version string", replace(`"version":3`, `"version":"3"`), event.ErrMalformed, "thing.made", 0},
		{"version huge", replace(`"version":3`, `"version":12345678901234567890`), event.ErrMalformed, "thing.made", 0},
		{"data array", replace(`{"count":1}`, `[1]`), event.ErrMalformed, "thing.made", 0},
		{"data null", replace(`{"count":1}`, `null`), event.ErrMalformed, "thing.made", 0},
		{"data string", replace(`{"count":1}`, `"{}"`), event.ErrMalformed, "thing.made", 0},
		{"metadata missing correlationId", replace(`"correlationId":"c-1",`, ``), event.ErrMalformed, "thing.made", 0},
		{"metadata empty correlationId", replace(`"correlationId":"c-1"`, `"correlationId":""`), event.ErrMalformed, "thing.made", 0},
		{"metadata empty source", replace(`"source":"test-service"`, `"source":""`), event.ErrMalformed, "thing.made", 0},
		{"metadata unknown field", replace(`"source":"test-service"`, `"source":"s","x":1`), event.ErrMalformed, "thing.made", 0},
		{"metadata not an object", replace(`{"correlationId":"c-1","causationId":"e-0","source":"test-service"}`, `"m"`), event.ErrMalformed, "thing.made", 0},
		{"causationId with space", replace(`"e-0"`, `"e 0"`), event.ErrMalformed, "thing.made", 0},
		{"unknown type", envelopeJSON("thing.unknown", 1, `{}`), event.ErrUnknownType, "thing.unknown", 1},
		{"version newer than latest", envelopeJSON("thing.made", 4, `{}`), event.ErrUnknownVersion, "thing.made", 4},
		{"version older than the chain", envelopeJSON("thing.gone", 2, `{}`), event.ErrUnknownVersion, "thing.gone", 2},
		{"upcaster error", envelopeJSON("thing.made", 2, `{"unit":"box"}`), event.ErrUpcast, "thing.made", 2},
		{"upcaster returns error", envelopeJSON("thing.broken", 1, `{"fail":true}`), event.ErrUpcast, "thing.broken", 1},
		{"upcaster panics", envelopeJSON("thing.broken", 1, `{"panic":true}`), event.ErrUpcast, "thing.broken", 1},
		{"upcaster returns non-object", envelopeJSON("thing.broken", 1, `{"array":true}`), event.ErrUpcast, "thing.broken", 1},
	}
	kinds := []error{event.ErrMalformed, event.ErrUnknownType, event.ErrUnknownVersion, event.ErrUpcast}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := codec.Decode([]byte(tt.in))
			if err == nil {
				t.Fatalf("Decode: got no error, want %v", tt.kind)
			}
			var de *event.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode: got %T %v, want a *DecodeError", err, err)
			}
			for _, k := range kinds {
				if got, want := errors.Is(err, k), k == tt.kind; got != want {
					t.Errorf("errors.Is(%v, %v): got %v, want %v", err, k, got, want)
				}
			}
			if de.EventType != tt.wantType {
				t.Errorf("EventType: got %q, want %q", de.EventType, tt.wantType)
			}
			if de.Version != tt.wantVer {
				t.Errorf("Version: got %d, want %d", de.Version, tt.wantVer)
			}
			if de.Err == nil || errors.Unwrap(err) != de.Err {
				t.Errorf("Unwrap: got %v, want the cause %v", errors.Unwrap(err), de.Err)
			}
		})
	}
}

func TestDecodeErrorUnwrapsCause(t *testing.T) {
	cause := errors.New("the cause")
	err := error(&event.DecodeError{Kind: event.ErrUpcast, EventType: "a.b", Version: 1, Err: cause})
	if !errors.Is(err, cause) {
		t.Errorf("errors.Is(err, cause): got false, want true")
	}
	if !errors.Is(err, event.ErrUpcast) || errors.Is(err, event.ErrMalformed) {
		t.Errorf("errors.Is kinds: got wrong matches for %v", err)
	}
	if got, want := err.Error(), `event: upcast failed: "a.b" v1: the cause`; got != want {
		t.Errorf("Error: got %q, want %q", got, want)
	}
}

func TestUpcastParsedEnvelope(t *testing.T) {
	codec := event.NewCodec(newTestRegistry(t))
	orig := event.Envelope{EventID: "e", EventType: "thing.made", Version: 1, Data: json.RawMessage(`{"n":2}`),
		Metadata: event.Metadata{CorrelationID: "c", Source: "s"}}
	got, err := codec.Upcast(orig)
	if err != nil {
		t.Fatalf("Upcast: %v", err)
	}
	if got.Version != 3 || string(got.Data) != `{"count":2,"unit":"each"}` {
		t.Errorf("Upcast: got v%d %s, want v3 {\"count\":2,\"unit\":\"each\"}", got.Version, got.Data)
	}
	if string(orig.Data) != `{"n":2}` {
		t.Errorf("Upcast modified its argument's data: %s", orig.Data)
	}
	tests := []struct {
		name string
		e    event.Envelope
		kind error
	}{
		{"unknown type", event.Envelope{EventType: "x", Version: 1, Data: json.RawMessage(`{}`)}, event.ErrUnknownType},
		{"unknown version", event.Envelope{EventType: "thing.made", Version: 9, Data: json.RawMessage(`{}`)}, event.ErrUnknownVersion},
		{"zero version", event.Envelope{EventType: "thing.made", Data: json.RawMessage(`{}`)}, event.ErrUnknownVersion},
		{"data not object", event.Envelope{EventType: "thing.made", Version: 3, Data: json.RawMessage(`7`)}, event.ErrMalformed},
		{"data empty", event.Envelope{EventType: "thing.made", Version: 3}, event.ErrMalformed},
		{"upcaster panics", event.Envelope{EventType: "thing.broken", Version: 1, Data: json.RawMessage(`{"panic":true}`)}, event.ErrUpcast},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := codec.Upcast(tt.e); !errors.Is(err, tt.kind) {
				t.Errorf("Upcast: got %v, want %v", err, tt.kind)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	codec := event.NewCodec(newTestRegistry(t))
	e := event.Envelope{
		EventID:   "0195f3a2-7c1e-7000-8000-000000000001",
		EventType: "thing.made",
		Timestamp: time.Date(2026, 11, 25, 18, 5, 37, 123e6, time.UTC),
		Version:   3,
		Data:      json.RawMessage(`{"count":1,"note":"<b>&</b>"}`),
		Metadata:  event.Metadata{CorrelationID: "c-1", CausationID: "e-0", Source: "test-service"},
	}
	b, err := codec.Encode(e)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	want := `{"eventId":"0195f3a2-7c1e-7000-8000-000000000001","eventType":"thing.made",` +
		`"timestamp":"2026-11-25T18:05:37.123Z","version":3,"data":{"count":1,"note":"<b>&</b>"},` +
		`"metadata":{"correlationId":"c-1","causationId":"e-0","source":"test-service"}}`
	if string(b) != want {
		t.Errorf("Encode:\n got %s\nwant %s", b, want)
	}
	got, err := codec.Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode(e)): %v", err)
	}
	if got.EventID != e.EventID || !got.Timestamp.Equal(e.Timestamp) || string(got.Data) != string(e.Data) || got.Metadata != e.Metadata {
		t.Errorf("Decode(Encode(e)):\n got %+v\nwant %+v", got, e)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	codec := event.NewCodec(newTestRegistry(t))
	valid := event.Envelope{
		EventID: "e-1", EventType: "thing.made", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Version: 3, Data: json.RawMessage(`{}`), Metadata: event.Metadata{CorrelationID: "c", Source: "s"},
	}
	if _, err := codec.Encode(valid); err != nil {
		t.Fatalf("Encode(valid): %v", err)
	}
	tests := []struct {
		name string
		edit func(*event.Envelope)
		kind error
	}{
		{"no id", func(e *event.Envelope) { e.EventID = "" }, event.ErrMalformed},
		{"zero time", func(e *event.Envelope) { e.Timestamp = time.Time{} }, event.ErrMalformed},
		{"year 10000", func(e *event.Envelope) { e.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, event.ErrMalformed},
		{"no correlation id", func(e *event.Envelope) { e.Metadata.CorrelationID = "" }, event.ErrMalformed},
		{"no source", func(e *event.Envelope) { e.Metadata.Source = "" }, event.ErrMalformed},
		{"data not object", func(e *event.Envelope) { e.Data = json.RawMessage(`[]`) }, event.ErrMalformed},
		{"data invalid JSON", func(e *event.Envelope) { e.Data = json.RawMessage(`{`) }, event.ErrMalformed},
		{"unknown type", func(e *event.Envelope) { e.EventType = "nope" }, event.ErrUnknownType},
		{"unknown version", func(e *event.Envelope) { e.Version = 4 }, event.ErrUnknownVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid
			tt.edit(&e)
			if _, err := codec.Encode(e); !errors.Is(err, tt.kind) {
				t.Errorf("Encode: got %v, want %v", err, tt.kind)
			}
		})
	}
}

func TestEncodeEmptyDataIsObject(t *testing.T) {
	codec := event.NewCodec(newTestRegistry(t))
	e := event.Envelope{EventID: "e", EventType: "thing.gone", Timestamp: time.Unix(0, 0), Version: 1,
		Metadata: event.Metadata{CorrelationID: "c", Source: "s"}}
	b, err := codec.Encode(e)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	got, err := codec.Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if string(got.Data) != `{}` {
		t.Errorf("Data: got %s, want {}", got.Data)
	}
}
