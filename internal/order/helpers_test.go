package order_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/order"
)

// t0 is the test clock's start.
var t0 = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

// at returns t0 plus n minutes.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

func placeCmd(id string) order.PlaceOrder {
	return order.PlaceOrder{
		OrderID: id,
		UserID:  "u-42",
		Items: []order.Item{
			{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1299},
			{ProductID: "p-2", Quantity: 1, UnitPriceMinor: 500},
		},
		Currency:        "USD",
		PaymentMethod:   "card_ok",
		ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"},
		At:              at(0),
	}
}

// orderIn returns an order driven into status s (through Place and the
// commands), with its pending changes.
func orderIn(t *testing.T, s order.Status, reason order.Reason) *order.Order {
	t.Helper()
	o := &order.Order{}
	steps := map[order.Status][]func() ([]order.Event, error){
		"":                 nil,
		order.StatusPlaced: {func() ([]order.Event, error) { return o.Place(placeCmd("o-1")) }},
	}
	steps[order.StatusPaid] = append(steps[order.StatusPlaced], func() ([]order.Event, error) { return o.MarkPaid("pay-1", at(1)) })
	steps[order.StatusReserved] = append(steps[order.StatusPaid], func() ([]order.Event, error) { return o.MarkReserved("res-1", at(2)) })
	steps[order.StatusShipped] = append(steps[order.StatusReserved], func() ([]order.Event, error) { return o.MarkShipped("UPS", "1Z999", at(3)) })
	steps[order.StatusCancelled] = append(steps[order.StatusPlaced], func() ([]order.Event, error) { return o.Cancel(reason, at(4)) })
	list, ok := steps[s]
	if !ok {
		t.Fatalf("orderIn: unknown status %q", s)
	}
	for i, step := range list {
		evs, err := step()
		if err != nil || len(evs) != 1 {
			t.Fatalf("orderIn(%q) step %d: got %d events, %v; want 1 event", s, i, len(evs), err)
		}
	}
	if o.Status != s {
		t.Fatalf("orderIn: got status %q, want %q", o.Status, s)
	}
	return o
}

func eventTypes(evs []order.Event) string { return fmt.Sprint(typesOf(evs)) }

func typesOf(evs []order.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.EventType()
	}
	return out
}
