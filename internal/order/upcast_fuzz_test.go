package order_test

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/causeway-dev/causeway/internal/order"
)

// FuzzUpcastPlacedV1 feeds any bytes to the order.placed v1 → v2 upcaster
// directly (FuzzDecodeOrderEvent reaches it only through whole envelopes)
// and checks: no panic; the same input upcasts to the same bytes; what
// upcasts is v2 data in US dollars with as many items, ids and quantities
// kept, and every amount exactly 100 × the v1 decimal (checked with
// math/big against the raw number text), never negative. Seeds are in
// testdata/fuzz/FuzzUpcastPlacedV1.
func FuzzUpcastPlacedV1(f *testing.F) {
	f.Add([]byte(placedV1Data))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := order.UpcastPlacedV1(in)
		again, err2 := order.UpcastPlacedV1(in)
		if (err == nil) != (err2 == nil) || !bytes.Equal(out, again) {
			t.Fatalf("not deterministic: %s / %v, then %s / %v", out, err, again, err2)
		}
		if err != nil {
			return
		}
		var v1 order.PlacedV1
		if err := json.Unmarshal(in, &v1); err != nil {
			t.Fatalf("upcast accepted what does not unmarshal as v1: %v", err)
		}
		var v2 order.Placed
		if err := json.Unmarshal(out, &v2); err != nil {
			t.Fatalf("upcast output does not unmarshal as v2: %v\n%s", err, out)
		}
		if v2.Currency != "USD" {
			t.Fatalf("currency %q, want USD", v2.Currency)
		}
		if v2.OrderID != v1.OrderID || v2.UserID != v1.UserID || len(v2.Items) != len(v1.Items) {
			t.Fatalf("ids or items changed: %+v from %+v", v2, v1)
		}
		cents := func(raw json.RawMessage, got int64) {
			t.Helper()
			r, ok := new(big.Rat).SetString(string(raw))
			if !ok {
				t.Fatalf("amount %s accepted but not a decimal", raw)
			}
			want := new(big.Rat).Mul(r, big.NewRat(100, 1))
			if !want.IsInt() || want.Num().Cmp(big.NewInt(got)) != 0 || got < 0 {
				t.Fatalf("amount %s became %d minor units, want %s", raw, got, want.RatString())
			}
		}
		cents(v1.TotalAmount, v2.TotalMinor)
		for i, it := range v1.Items {
			if v2.Items[i].ProductID != it.ProductID || v2.Items[i].Quantity != it.Quantity {
				t.Fatalf("item %d changed: %+v from %+v", i, v2.Items[i], it)
			}
			cents(it.Price, v2.Items[i].UnitPriceMinor)
		}
	})
}
