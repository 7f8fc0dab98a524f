package event_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/event"
)

// Test event types:
//
//	"thing.made" v3: v1 {"n": 1} → v2 {"n": 1, "unit": "each"} → v3 {"count": 1, "unit": "each"}
//	"thing.gone" v1 only.
//	"thing.broken" v2 whose v1→v2 upcaster fails on {"fail": true} and
//	panics on {"panic": true}, and returns a non-object on {"array": true}.
func newTestRegistry(t testing.TB) *event.Registry {
	t.Helper()
	reg := event.NewRegistry()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	must(reg.Register("thing.made", 3,
		event.Upcaster{From: 1, Up: editObject(func(m map[string]any) error {
			m["unit"] = "each"
			return nil
		})},
		event.Upcaster{From: 2, Up: editObject(func(m map[string]any) error {
			n, ok := m["n"]
			if !ok {
				return errors.New("missing n")
			}
			m["count"] = n
			delete(m, "n")
			return nil
		})},
	))
	must(reg.Register("thing.gone", 1))
	must(reg.Register("thing.broken", 2, event.Upcaster{From: 1, Up: func(data json.RawMessage) (json.RawMessage, error) {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, err
		}
		switch {
		case m["fail"] == true:
			return nil, errors.New("told to fail")
		case m["panic"] == true:
			var p *struct{ x int }
			return json.RawMessage(fmt.Sprint(p.x)), nil // nil dereference
		case m["array"] == true:
			return json.RawMessage(`[1]`), nil
		}
		return data, nil
	}}))
	return reg
}

// editObject makes an upcaster that edits the data as a map.
func editObject(edit func(map[string]any) error) func(json.RawMessage) (json.RawMessage, error) {
	return func(data json.RawMessage) (json.RawMessage, error) {
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, err
		}
		if err := edit(m); err != nil {
			return nil, err
		}
		return json.Marshal(m)
	}
}

// envelopeJSON returns a valid envelope with the given type, version and
// data, in wire form.
func envelopeJSON(typ string, version int, data string) string {
	return fmt.Sprintf(`{"eventId":"0195f3a2-7c1e-7000-8000-000000000001","eventType":%q,`+
		`"timestamp":"2026-11-25T18:05:37.123Z","version":%d,"data":%s,`+
		`"metadata":{"correlationId":"c-1","causationId":"e-0","source":"test-service"}}`, typ, version, data)
}
