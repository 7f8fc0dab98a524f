package event_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/event"
)

// benchPlacedV2 is a realistic order.placed v2 envelope (~500 bytes), as the
// outbox relay writes it.
const benchPlacedV2 = `{"eventId":"0195f3a2-7c1e-7000-8000-00000000a1b2","eventType":"order.placed",` +
	`"timestamp":"2026-11-25T18:05:37.123Z","version":2,"data":{"orderId":"o-7f3a9c21",` +
	`"userId":"u-4242","items":[{"productId":"p-1001","quantity":2,"unitPriceMinor":1299}],` +
	`"totalMinor":2598,"currency":"EUR",` +
	`"paymentMethod":"card_ok","shippingAddress":{` +
	`"line1":"12 Rue de Rivoli","city":"Paris","country":"FR"},"placedAt":"2026-11-25T18:05:37.123Z"},` +
	`"metadata":{"correlationId":"o-7f3a9c21","causationId":"",` +
	`"source":"order-service"}}`

// benchPlacedV1 is the same order as order.placed v1 (decimal dollars, no
// currency), which Decode upcasts to v2.
const benchPlacedV1 = `{"eventId":"0195f3a2-7c1e-7000-8000-00000000a1b2","eventType":"order.placed",` +
	`"timestamp":"2026-11-25T18:05:37.123Z","version":1,"data":{"orderId":"o-7f3a9c21",` +
	`"userId":"u-4242","items":[{"productId":"p-1001","quantity":2,"price":12.99}],` +
	`"totalAmount":25.98,` +
	`"paymentMethod":"card_ok","shippingAddress":{` +
	`"line1":"12 Rue de Rivoli","city":"Paris","country":"FR"},"placedAt":"2026-11-25T18:05:37.123Z"},` +
	`"metadata":{"correlationId":"o-7f3a9c21","causationId":"",` +
	`"source":"order-service"}}`

// benchRegistry registers order.placed v2 with a v1→v2 upcaster shaped like
// the order service's (unmarshal into a struct, convert decimal amounts to
// minor units, marshal), and a few other types so lookups are not trivial.
func benchRegistry(b testing.TB) *event.Registry {
	reg := event.NewRegistry()
	if err := reg.Register("order.placed", 2, event.Upcaster{From: 1, Up: benchUpcastPlacedV1}); err != nil {
		b.Fatal(err)
	}
	for _, typ := range []string{"order.paid", "order.reserved", "order.shipped", "order.cancelled"} {
		if err := reg.Register(typ, 1); err != nil {
			b.Fatal(err)
		}
	}
	return reg
}

func benchUpcastPlacedV1(data json.RawMessage) (json.RawMessage, error) {
	type itemV1 struct {
		ProductID string      `json:"productId"`
		Quantity  int         `json:"quantity"`
		Price     json.Number `json:"price"`
	}
	type item struct {
		ProductID      string `json:"productId"`
		Quantity       int    `json:"quantity"`
		UnitPriceMinor int64  `json:"unitPriceMinor"`
	}
	var v1 struct {
		OrderID         string          `json:"orderId"`
		UserID          string          `json:"userId"`
		Items           []itemV1        `json:"items"`
		TotalAmount     json.Number     `json:"totalAmount"`
		PaymentMethod   string          `json:"paymentMethod"`
		ShippingAddress json.RawMessage `json:"shippingAddress"`
		PlacedAt        string          `json:"placedAt"`
	}
	if err := json.Unmarshal(data, &v1); err != nil {
		return nil, err
	}
	minor := func(n json.Number) (int64, error) {
		whole, frac, _ := strings.Cut(string(n), ".")
		frac = (frac + "00")[:2]
		return strconv.ParseInt(whole+frac, 10, 64)
	}
	v2 := struct {
		OrderID         string          `json:"orderId"`
		UserID          string          `json:"userId"`
		Items           []item          `json:"items"`
		TotalMinor      int64           `json:"totalMinor"`
		Currency        string          `json:"currency"`
		PaymentMethod   string          `json:"paymentMethod"`
		ShippingAddress json.RawMessage `json:"shippingAddress"`
		PlacedAt        string          `json:"placedAt"`
	}{OrderID: v1.OrderID, UserID: v1.UserID, Currency: "USD", PaymentMethod: v1.PaymentMethod,
		ShippingAddress: v1.ShippingAddress, PlacedAt: v1.PlacedAt}
	for _, it := range v1.Items {
		p, err := minor(it.Price)
		if err != nil {
			return nil, fmt.Errorf("price: %w", err)
		}
		v2.Items = append(v2.Items, item{it.ProductID, it.Quantity, p})
	}
	var err error
	if v2.TotalMinor, err = minor(v1.TotalAmount); err != nil {
		return nil, fmt.Errorf("totalAmount: %w", err)
	}
	return json.Marshal(v2)
}

// BenchmarkDecode measures Codec.Decode on a current-version envelope and on
// one that needs upcasting.
//
//	go test -run='^$' -bench=BenchmarkDecode -benchmem -count=6 ./event/
func BenchmarkDecode(b *testing.B) {
	codec := event.NewCodec(benchRegistry(b))
	for _, bc := range []struct{ name, in string }{
		{"v2", benchPlacedV2},
		{"v1_upcast", benchPlacedV1},
	} {
		in := []byte(bc.in)
		if _, err := codec.Decode(in); err != nil {
			b.Fatalf("%s: %v", bc.name, err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := codec.Decode(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
