package event_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/causeway-dev/causeway/event"
)

// FuzzDecode checks, for any input, that Decode does not panic, that every
// failure is a *DecodeError of one of the four kinds, and that every success
// is at the latest version with object data and survives Encode then Decode
// unchanged. Seeds are in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(envelopeJSON("thing.made", 1, `{"n":1}`)))
	f.Add([]byte(envelopeJSON("thing.made", 3, `{"count":1}`)))
	codec := event.NewCodec(newTestRegistry(f))
	reg := newTestRegistry(f)
	kinds := []error{event.ErrMalformed, event.ErrUnknownType, event.ErrUnknownVersion, event.ErrUpcast}
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := codec.Decode(in)
		if err != nil {
			var de *event.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode error %T %v is not a *DecodeError", err, err)
			}
			n := 0
			for _, k := range kinds {
				if errors.Is(err, k) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("Decode error %v matches %d kinds, want exactly 1", err, n)
			}
			return
		}
		latest, ok := reg.Latest(e.EventType)
		if !ok || e.Version != latest {
			t.Fatalf("decoded %q v%d, want the latest version %d (registered %v)", e.EventType, e.Version, latest, ok)
		}
		if len(e.Data) == 0 || e.Data[0] != '{' {
			t.Fatalf("decoded data %q is not a JSON object", e.Data)
		}
		b, err := codec.Encode(e)
		if err != nil {
			t.Fatalf("Encode(Decode(in)): %v", err)
		}
		e2, err := codec.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(Decode(in))): %v\nencoded: %s", err, b)
		}
		if e2.EventID != e.EventID || e2.EventType != e.EventType || !e2.Timestamp.Equal(e.Timestamp) ||
			e2.Version != e.Version || !bytes.Equal(e2.Data, e.Data) || e2.Metadata != e.Metadata {
			t.Fatalf("round trip changed the envelope:\n got %+v\nwant %+v", e2, e)
		}
		b2, err := codec.Encode(e2)
		if err != nil || !bytes.Equal(b2, b) {
			t.Fatalf("second Encode: got %s, %v, want %s", b2, err, b)
		}
	})
}
