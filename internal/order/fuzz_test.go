package order_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"regexp"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
)

// FuzzDecodeOrderEvent decodes any input as an order event through the
// registry (v1 and v2 of order.placed included) and checks that nothing
// panics, that failures have the documented kinds, and that what decodes
// has integer money, applies to an order in any state, and survives
// ToEnvelope, Encode, Decode and DecodeEvent unchanged. Seeds are in
// testdata/fuzz/FuzzDecodeOrderEvent.
func FuzzDecodeOrderEvent(f *testing.F) {
	f.Add(envelopeJSON(order.TypePlaced, 1, placedV1Data))
	codec := newCodec(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		env, err := codec.Decode(in)
		if err != nil {
			var de *event.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode: %T %v is not a *DecodeError", err, err)
			}
			return
		}
		e, err := order.DecodeEvent(env)
		if err != nil {
			if !errors.Is(err, order.ErrBadEvent) {
				t.Fatalf("DecodeEvent: %v does not match ErrBadEvent", err)
			}
			return
		}
		if p, ok := e.(order.Placed); ok {
			if p.TotalMinor < 0 {
				t.Fatalf("negative total %d", p.TotalMinor)
			}
			for _, it := range p.Items {
				if it.UnitPriceMinor < 0 || it.Quantity < 1 {
					t.Fatalf("bad item %+v", it)
				}
			}
		}
		for _, s := range []order.Status{"", order.StatusPlaced, order.StatusPaid, order.StatusReserved, order.StatusShipped, order.StatusCancelled} {
			o := orderIn(t, s, order.ReasonPaymentFailed)
			v := o.Version
			o.Apply(e)
			if o.Version != v+1 {
				t.Fatalf("Apply: version %d, want %d", o.Version, v+1)
			}
		}
		if _, ok := e.(order.Unknown); ok {
			t.Fatalf("a registered type decoded as Unknown: %s", env.EventType)
		}
		env2, err := order.ToEnvelope(e, env.Metadata)
		if err != nil {
			t.Fatalf("ToEnvelope: %v", err)
		}
		b, err := codec.Encode(env2)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		env3, err := codec.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(…)): %v\n%s", err, b)
		}
		e2, err := order.DecodeEvent(env3)
		if err != nil {
			t.Fatalf("DecodeEvent after round trip: %v\n%s", err, b)
		}
		got, _ := json.Marshal(e2)
		want, _ := json.Marshal(e)
		if string(got) != string(want) {
			t.Fatalf("round trip changed the event:\n got %s\nwant %s", got, want)
		}
	})
}

var smallExponent = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]{1,4})?$`)

// FuzzDecimalToMinor checks the exact conversion against math/big.
func FuzzDecimalToMinor(f *testing.F) {
	for _, s := range []string{"0", "12.99", "0.29", "1e2", "1.005", "-1", "92233720368547758.07", "1E-2", "01", "1.", "9e9999"} {
		f.Add(s)
	}
	maxInt := new(big.Rat).SetInt64(math.MaxInt64)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := order.DecimalToMinor(s, 2)
		if !smallExponent.MatchString(s) || !json.Valid([]byte(s)) {
			if err == nil && !json.Valid([]byte(s)) {
				t.Fatalf("DecimalToMinor(%q) = %d, but it is not a JSON number", s, got)
			}
			return
		}
		r, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("math/big cannot parse JSON number %q", s)
		}
		r.Mul(r, big.NewRat(100, 1))
		wantOK := r.IsInt() && r.Sign() >= 0 && r.Cmp(maxInt) <= 0
		switch {
		case wantOK && err != nil:
			t.Fatalf("DecimalToMinor(%q): %v, want %s", s, err, r.RatString())
		case !wantOK && err == nil:
			t.Fatalf("DecimalToMinor(%q) = %d, want an error (exact value %s)", s, got, r.RatString())
		case wantOK && r.Num().Int64() != got:
			t.Fatalf("DecimalToMinor(%q) = %d, want %s", s, got, r.RatString())
		}
	})
}
