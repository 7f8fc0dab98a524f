package order_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
)

// randomHistory places an order and runs random commands on it, keeping
// the events they raise (illegal ones raise none), with foreign events
// mixed in. It returns the live order and its events.
func randomHistory(t *testing.T, r *rand.Rand) (*order.Order, []order.Event) {
	t.Helper()
	o := &order.Order{}
	cmd := placeCmd(fmt.Sprintf("o-%d", r.IntN(1000)))
	cmd.Items = nil
	for range 1 + r.IntN(5) {
		cmd.Items = append(cmd.Items, order.Item{ProductID: fmt.Sprintf("p-%d", r.IntN(20)),
			Quantity: 1 + r.IntN(order.MaxQuantity), UnitPriceMinor: r.Int64N(1_000_000)})
	}
	cmd.At = t0.Add(time.Duration(r.Int64N(int64(time.Hour))))
	evs, err := o.Place(cmd)
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	history := evs
	now := cmd.At
	reasons := []order.Reason{order.ReasonPaymentFailed, order.ReasonOutOfStock, order.ReasonShippingFailed, order.ReasonCustomerCancelled}
	for range r.IntN(12) {
		now = now.Add(time.Duration(1 + r.Int64N(int64(time.Minute))))
		var evs []order.Event
		var err error
		switch r.IntN(5) {
		case 0:
			evs, err = o.MarkPaid(fmt.Sprintf("pay-%d", r.IntN(9)), now)
		case 1:
			evs, err = o.MarkReserved("", now)
		case 2:
			evs, err = o.MarkShipped("UPS", fmt.Sprintf("1Z%d", r.IntN(999)), now)
		case 3:
			evs, err = o.Cancel(reasons[r.IntN(len(reasons))], now)
		case 4:
			u := order.Unknown{Type: "order.gift-wrapped", At: now}
			o.Apply(u)
			evs = []order.Event{u}
		}
		if err != nil && !errors.Is(err, order.ErrIllegalTransition) {
			t.Fatalf("command: %v", err)
		}
		history = append(history, evs...)
	}
	return o, history
}

// throughCodec sends e through ToEnvelope, Encode, Decode and DecodeEvent,
// as a stored event would go.
func throughCodec(t *testing.T, codec *event.Codec, e order.Event) order.Event {
	t.Helper()
	if u, ok := e.(order.Unknown); ok {
		return u
	}
	env, err := order.ToEnvelope(e, event.Metadata{CorrelationID: "c", Source: "order-service"})
	if err != nil {
		t.Fatalf("ToEnvelope: %v", err)
	}
	b, err := codec.Encode(env)
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	if env, err = codec.Decode(b); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	out, err := order.DecodeEvent(env)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	return out
}

func fold(evs []order.Event) *order.Order {
	o := &order.Order{}
	for _, e := range evs {
		o.Apply(e)
	}
	return o
}

func snapshotBytes(t *testing.T, o *order.Order) string {
	t.Helper()
	_, b, err := o.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	return string(b)
}

// TestSnapshotPlusTailEqualsFullFold is a property test over seeded random
// histories: folding all events, through the codec, gives the live state,
// and so does restoring a snapshot taken at any point and folding the rest.
func TestSnapshotPlusTailEqualsFullFold(t *testing.T) {
	codec := newCodec(t)
	statuses := map[order.Status]int{}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 42))
		live, history := randomHistory(t, r)
		stored := make([]order.Event, len(history))
		for i, e := range history {
			stored[i] = throughCodec(t, codec, e)
		}
		full := fold(stored)
		if got, want := snapshotBytes(t, full), snapshotBytes(t, live); got != want {
			t.Fatalf("seed %d: folded state differs from live state:\n got %s\nwant %s", seed, got, want)
		}
		k := r.IntN(len(stored) + 1)
		typ, data, err := fold(stored[:k]).Snapshot()
		if err != nil {
			t.Fatalf("Snapshot: %v", err)
		}
		restored, err := order.FromSnapshot(typ, data)
		if err != nil {
			t.Fatalf("seed %d: FromSnapshot: %v", seed, err)
		}
		for _, e := range stored[k:] {
			restored.Apply(e)
		}
		if !reflect.DeepEqual(restored, full) {
			t.Fatalf("seed %d, snapshot after %d of %d events:\n got %+v\nwant %+v", seed, k, len(stored), restored, full)
		}
		statuses[full.Status]++
	}
	// The histories must reach every status, or the property says little.
	for _, s := range []order.Status{order.StatusPlaced, order.StatusPaid, order.StatusReserved, order.StatusShipped, order.StatusCancelled} {
		if statuses[s] == 0 {
			t.Errorf("no random history ended %s: %v", s, statuses)
		}
	}
}

func TestFromSnapshotErrors(t *testing.T) {
	_, data, err := orderIn(t, order.StatusPaid, "").Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	tests := []struct {
		name, typ, data string
	}{
		{"unknown type", "order/v0", string(data)},
		{"not JSON", order.SnapshotType, "{"},
		{"unknown field", order.SnapshotType, `{"id":"o","bogus":1}`},
		{"negative version", order.SnapshotType, `{"id":"o","version":-1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := order.FromSnapshot(tt.typ, []byte(tt.data)); !errors.Is(err, order.ErrSnapshot) {
				t.Errorf("FromSnapshot: got %v, want ErrSnapshot", err)
			}
		})
	}
}
