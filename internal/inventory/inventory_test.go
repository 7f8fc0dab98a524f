package inventory_test

import (
	"reflect"
	"testing"

	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/schema"
)

func TestNext(t *testing.T) {
	items := []schema.Line{{ProductID: "p-1", Quantity: 1}}
	paid := inventory.Fact{EventID: "e-pay", CorrelationID: "c"}
	undo := inventory.Fact{EventID: "e-undo", CorrelationID: "c"}
	tests := []struct {
		name string
		o    inventory.Order
		want inventory.Step
	}{
		{"nothing known", inventory.Order{Status: inventory.StatusPending}, inventory.StepNone},
		{"items only: wait for payment", inventory.Order{Status: inventory.StatusPending, Items: items}, inventory.StepNone},
		{"paid before order.placed: wait for items", inventory.Order{Status: inventory.StatusPending, Paid: paid}, inventory.StepNone},
		{"items and paid", inventory.Order{Status: inventory.StatusPending, Items: items, Paid: paid}, inventory.StepReserve},
		{"cancelled before paid: never reserve", inventory.Order{Status: inventory.StatusPending, Items: items, Undo: undo}, inventory.StepCancel},
		{"cancelled, then paid", inventory.Order{Status: inventory.StatusPending, Items: items, Paid: paid, Undo: undo}, inventory.StepCancel},
		{"reserved", inventory.Order{Status: inventory.StatusReserved, Items: items, Paid: paid}, inventory.StepNone},
		{"reserved, then undo", inventory.Order{Status: inventory.StatusReserved, Items: items, Paid: paid, Undo: undo}, inventory.StepRelease},
		{"released: exactly once", inventory.Order{Status: inventory.StatusReleased, Items: items, Paid: paid, Undo: undo}, inventory.StepNone},
		{"failed: nothing to release", inventory.Order{Status: inventory.StatusFailed, Items: items, Paid: paid, Undo: undo}, inventory.StepNone},
		{"cancelled", inventory.Order{Status: inventory.StatusCancelled, Items: items, Paid: paid, Undo: undo}, inventory.StepNone},
	}
	for _, tt := range tests {
		if got := inventory.Next(tt.o); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name    string
		lines   []schema.Line
		avail   map[string]int64
		ok      bool
		missing []schema.Line
	}{
		{"all available", []schema.Line{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 1}}, map[string]int64{"p-1": 2, "p-2": 5}, true, nil},
		{"one short: none reserved", []schema.Line{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 6}}, map[string]int64{"p-1": 2, "p-2": 5}, false, []schema.Line{{ProductID: "p-2", Quantity: 6}}},
		{"same product twice is summed", []schema.Line{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-1", Quantity: 2}}, map[string]int64{"p-1": 3}, false, []schema.Line{{ProductID: "p-1", Quantity: 4}}},
		{"sold out", []schema.Line{{ProductID: "p-sold-out", Quantity: 1}}, map[string]int64{"p-sold-out": 0}, false, []schema.Line{{ProductID: "p-sold-out", Quantity: 1}}},
		{"unknown product", []schema.Line{{ProductID: "p-x", Quantity: 1}}, map[string]int64{}, false, []schema.Line{{ProductID: "p-x", Quantity: 1}}},
	}
	for _, tt := range tests {
		ok, missing := inventory.Plan(tt.lines, tt.avail)
		if ok != tt.ok || !reflect.DeepEqual(missing, tt.missing) {
			t.Errorf("%s: got %v %v, want %v %v", tt.name, ok, missing, tt.ok, tt.missing)
		}
	}
}

func TestMergeSortsAndSums(t *testing.T) {
	got := inventory.Merge([]schema.Line{{ProductID: "p-2", Quantity: 1}, {ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 3}})
	want := []schema.Line{{ProductID: "p-1", Quantity: 2}, {ProductID: "p-2", Quantity: 4}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
