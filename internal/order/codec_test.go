package order_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
)

func TestDecimalToMinor(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"0", 0, ""},
		{"-0", 0, ""},
		{"0.0", 0, ""},
		{"12", 1200, ""},
		{"12.5", 1250, ""},
		{"12.99", 1299, ""},
		{"0.1", 10, ""},
		{"0.07", 7, ""},
		{"19.990000", 1999, ""},
		{"1e2", 10000, ""},
		{"1.5E+1", 1500, ""},
		{"1299e-2", 1299, ""},
		{"1E-2", 1, ""},
		{"0e9999", 0, ""},
		{"92233720368547758.07", 9223372036854775807, ""},
		{"92233720368547758.08", 0, "out of range"},
		{"1e9999", 0, "out of range"},
		{"1e99999", 0, "out of range"},
		{"99999999999999999999", 0, "out of range"},
		{"1.005", 0, "more than 2 decimal places"},
		{"0.001", 0, "more than 2 decimal places"},
		{"1e-3", 0, "more than 2 decimal places"},
		{"-1", 0, "negative"},
		{"-0.01", 0, "negative"},
		{"", 0, "not a JSON number"},
		{`"12.5"`, 0, "not a JSON number"},
		{"01", 0, "not a JSON number"},
		{"1.", 0, "not a JSON number"},
		{".5", 0, "not a JSON number"},
		{"1e", 0, "not a JSON number"},
		{"+1", 0, "not a JSON number"},
		{"NaN", 0, "not a JSON number"},
		{"1_000", 0, "not a JSON number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := order.DecimalToMinor(tt.in, 2)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("DecimalToMinor(%q, 2): got %d, %v, want %d", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DecimalToMinor(%q, 2): got %d, %v, want an error containing %q", tt.in, got, err, tt.wantErr)
			}
		})
	}
}

// TestDecimalToMinorAllCents checks every amount 0.00–99.99 written
// several ways; a float conversion gets some of them wrong (e.g. 0.29 *
// 100 = 28.999999999999996).
func TestDecimalToMinorAllCents(t *testing.T) {
	for cents := int64(0); cents < 10000; cents++ {
		for _, s := range []string{
			fmt.Sprintf("%d.%02d", cents/100, cents%100),
			fmt.Sprintf("%de-2", cents),
			fmt.Sprintf("%d.%02d0e0", cents/100, cents%100),
		} {
			got, err := order.DecimalToMinor(s, 2)
			if err != nil || got != cents {
				t.Fatalf("DecimalToMinor(%q, 2): got %d, %v, want %d", s, got, err, cents)
			}
		}
	}
}

const placedV1Data = `{"orderId":"o-1","userId":"u-42",` +
	`"items":[{"productId":"p-1","quantity":2,"price":12.99},{"productId":"p-2","quantity":1,"price":0.29}],` +
	`"totalAmount":26.27,"paymentMethod":"card_ok",` +
	`"shippingAddress":{"name":"Ada","line1":"1 Main St","city":"Springfield","country":"US"},` +
	`"placedAt":"2026-11-25T18:05:37.123Z"}`

func envelopeJSON(typ string, version int, data string) []byte {
	return []byte(fmt.Sprintf(`{"eventId":"e-1","eventType":%q,"timestamp":"2026-11-25T18:05:37.123Z",`+
		`"version":%d,"data":%s,"metadata":{"correlationId":"c-1","causationId":"","source":"order-service"}}`,
		typ, version, data))
}

func newCodec(t testing.TB) *event.Codec {
	t.Helper()
	c, err := order.NewCodec()
	if err != nil {
		t.Fatalf("NewCodec: %v", err)
	}
	return c
}

func TestDecodePlacedV1(t *testing.T) {
	codec := newCodec(t)
	env, err := codec.Decode(envelopeJSON(order.TypePlaced, 1, placedV1Data))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if env.Version != order.PlacedVersion {
		t.Errorf("Version: got %d, want %d", env.Version, order.PlacedVersion)
	}
	e, err := order.DecodeEvent(env)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	p, ok := e.(order.Placed)
	if !ok {
		t.Fatalf("DecodeEvent: got %T, want order.Placed", e)
	}
	wantItems := []order.Item{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1299}, {ProductID: "p-2", Quantity: 1, UnitPriceMinor: 29}}
	if !slices.Equal(p.Items, wantItems) || p.TotalMinor != 2627 || p.Currency != "USD" || p.UserID != "u-42" ||
		p.ShippingAddress.City != "Springfield" || p.PlacedAt.IsZero() {
		t.Errorf("upcast Placed: got %+v", p)
	}
}

func TestUpcastPlacedV1Errors(t *testing.T) {
	codec := newCodec(t)
	tests := []struct {
		name string
		data string
	}{
		{"three decimals", strings.Replace(placedV1Data, "12.99", "12.999", 1)},
		{"negative price", strings.Replace(placedV1Data, "12.99", "-12.99", 1)},
		{"price as string", strings.Replace(placedV1Data, "12.99", `"12.99"`, 1)},
		{"missing price", strings.Replace(placedV1Data, `,"price":12.99`, "", 1)},
		{"total out of range", strings.Replace(placedV1Data, "26.27", "1e30", 1)},
		{"missing total", strings.Replace(placedV1Data, `"totalAmount":26.27,`, "", 1)},
		{"other currency", strings.Replace(placedV1Data, `"orderId"`, `"currency":"EUR","orderId"`, 1)},
		{"items not a list", strings.Replace(placedV1Data, `"items":[`, `"items":{"x":1},"y":[`, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := codec.Decode(envelopeJSON(order.TypePlaced, 1, tt.data))
			if !errors.Is(err, event.ErrUpcast) {
				t.Errorf("Decode: got %v, want ErrUpcast", err)
			}
		})
	}
}

func TestRegisterEvents(t *testing.T) {
	reg := event.NewRegistry()
	if err := order.RegisterEvents(reg); err != nil {
		t.Fatalf("RegisterEvents: %v", err)
	}
	want := []string{order.TypeCancelled, order.TypePaid, order.TypePlaced, order.TypeReserved, order.TypeShipped}
	if got := reg.Types(); !slices.Equal(got, want) {
		t.Errorf("Types: got %v, want %v", got, want)
	}
	if v, _ := reg.Oldest(order.TypePlaced); v != 1 {
		t.Errorf("Oldest(order.placed): got %d, want 1", v)
	}
	if err := order.RegisterEvents(reg); !errors.Is(err, event.ErrRegistration) {
		t.Errorf("second RegisterEvents: got %v, want ErrRegistration", err)
	}
}

func TestToEnvelopeDecodeEventRoundTrip(t *testing.T) {
	codec := newCodec(t)
	o := orderIn(t, order.StatusShipped, "")
	md := event.Metadata{CorrelationID: "c-1", CausationID: "e-0", Source: "order-service"}
	for _, e := range append(o.Changes(), order.Cancelled{OrderID: "o-1", Reason: order.ReasonOutOfStock, CancelledAt: at(5)}) {
		env, err := order.ToEnvelope(e, md)
		if err != nil {
			t.Fatalf("ToEnvelope(%s): %v", e.EventType(), err)
		}
		if !env.Timestamp.Equal(e.OccurredAt()) || env.Metadata != md {
			t.Errorf("ToEnvelope(%s): timestamp %v metadata %+v, want %v %+v", e.EventType(), env.Timestamp, env.Metadata, e.OccurredAt(), md)
		}
		b, err := codec.Encode(env)
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		env2, err := codec.Decode(b)
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		got, err := order.DecodeEvent(env2)
		if err != nil {
			t.Fatalf("DecodeEvent(%s): %v", e.EventType(), err)
		}
		gb, _ := json.Marshal(got)
		wb, _ := json.Marshal(e)
		if string(gb) != string(wb) {
			t.Errorf("round trip of %s:\n got %s\nwant %s", e.EventType(), gb, wb)
		}
	}
	if _, err := order.ToEnvelope(order.Unknown{Type: "x.y"}, md); !errors.Is(err, order.ErrBadEvent) {
		t.Errorf("ToEnvelope(Unknown): got %v, want ErrBadEvent", err)
	}
}

func TestDecodeEventErrors(t *testing.T) {
	env := func(typ string, version int, data string) event.Envelope {
		return event.Envelope{EventID: "e", EventType: typ, Version: version, Data: json.RawMessage(data)}
	}
	tests := []struct {
		name string
		env  event.Envelope
	}{
		{"old version not upcast", env(order.TypePlaced, 1, placedV1Data)},
		{"unknown field", env(order.TypePaid, 1, `{"orderId":"o","paidAt":"2026-01-01T00:00:00Z","amount":1}`)},
		{"missing orderId", env(order.TypePaid, 1, `{"paidAt":"2026-01-01T00:00:00Z"}`)},
		{"missing time", env(order.TypeReserved, 1, `{"orderId":"o"}`)},
		{"bad reason", env(order.TypeCancelled, 1, `{"orderId":"o","reason":"bored","cancelledAt":"2026-01-01T00:00:00Z"}`)},
		{"placed without items", env(order.TypePlaced, 2, `{"orderId":"o","userId":"u","items":[],"totalMinor":0,"currency":"USD","paymentMethod":"x","shippingAddress":{"name":"","line1":"","city":"","country":""},"placedAt":"2026-01-01T00:00:00Z"}`)},
		{"quantity as float", env(order.TypePlaced, 2, `{"orderId":"o","userId":"u","items":[{"productId":"p","quantity":1.5,"unitPriceMinor":1}],"totalMinor":1,"currency":"USD","paymentMethod":"x","shippingAddress":{"name":"","line1":"","city":"","country":""},"placedAt":"2026-01-01T00:00:00Z"}`)},
		{"not an object", env(order.TypeShipped, 1, `[]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if e, err := order.DecodeEvent(tt.env); !errors.Is(err, order.ErrBadEvent) {
				t.Errorf("DecodeEvent: got %#v, %v, want ErrBadEvent", e, err)
			}
		})
	}
	e, err := order.DecodeEvent(env("payment.succeeded", 1, `{}`))
	if u, ok := e.(order.Unknown); err != nil || !ok || u.Type != "payment.succeeded" {
		t.Errorf("DecodeEvent(foreign type): got %#v, %v, want Unknown", e, err)
	}
}
