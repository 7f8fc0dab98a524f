package event

import (
	"encoding/json"
	"testing"
)

// BenchmarkDecodeVsReference measures Codec.Decode against the original
// json.Decoder-based implementation (refDecode, kept as the contract's
// reference) on the same ~500-byte current-version envelope, in one run:
//
//	go test -run='^$' -bench=DecodeVsReference -benchmem ./event/
func BenchmarkDecodeVsReference(b *testing.B) {
	reg := NewRegistry()
	if err := reg.Register("order.placed", 2, Upcaster{From: 1, Up: func(d json.RawMessage) (json.RawMessage, error) { return d, nil }}); err != nil {
		b.Fatal(err)
	}
	codec := NewCodec(reg)
	in := []byte(`{"eventId":"0195f3a2-7c1e-7000-8000-00000000a1b2","eventType":"order.placed",` +
		`"timestamp":"2026-11-25T18:05:37.123Z","version":2,"data":{"orderId":"o-7f3a9c21",` +
		`"userId":"u-4242","items":[{"productId":"p-1001","quantity":2,"unitPriceMinor":1299}],` +
		`"totalMinor":2598,"currency":"EUR","paymentMethod":"card_ok","shippingAddress":{` +
		`"name":"Ada","line1":"12 Rue de Rivoli","city":"Paris","country":"FR"},"placedAt":"2026-11-25T18:05:37.123Z"},` +
		`"metadata":{"correlationId":"0195f3a2-7c1e-7000-8000-00000000c0de","causationId":"","source":"order-service"}}`)
	for name, decode := range map[string]func([]byte) (Envelope, error){
		"scanner":   codec.Decode,
		"reference": func(v []byte) (Envelope, error) { return refDecode(codec, v) },
	} {
		if _, err := decode(in); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
