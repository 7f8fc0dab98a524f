package shipping_test

import (
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/internal/shipping"
)

var at = time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)

func TestNext(t *testing.T) {
	reserved := shipping.Fact{EventID: "e-res", CorrelationID: "c"}
	undo := shipping.Fact{EventID: "e-undo", CorrelationID: "c"}
	tests := []struct {
		name string
		o    shipping.Order
		want shipping.Step
	}{
		{"address only", shipping.Order{Status: shipping.StatusPending, Country: "US"}, shipping.StepNone},
		{"reserved before order.placed: wait", shipping.Order{Status: shipping.StatusPending, Reserved: reserved}, shipping.StepNone},
		{"both", shipping.Order{Status: shipping.StatusPending, Country: "US", Reserved: reserved}, shipping.StepShip},
		{"cancelled first: never ship", shipping.Order{Status: shipping.StatusPending, Country: "US", Reserved: reserved, Undo: undo}, shipping.StepDrop},
		{"created, then cancelled", shipping.Order{Status: shipping.StatusCreated, Undo: undo}, shipping.StepCancelShipment},
		{"created", shipping.Order{Status: shipping.StatusCreated}, shipping.StepNone},
		{"failed, then cancelled", shipping.Order{Status: shipping.StatusFailed, Undo: undo}, shipping.StepNone},
		{"cancelled once", shipping.Order{Status: shipping.StatusCancelled, Undo: undo}, shipping.StepNone},
	}
	for _, tt := range tests {
		if got := shipping.Next(tt.o); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestShip(t *testing.T) {
	tests := []struct {
		country string
		status  shipping.Status
	}{
		{"US", shipping.StatusCreated},
		{"XX", shipping.StatusFailed},
		{"xx", shipping.StatusFailed},
	}
	for _, tt := range tests {
		o, ev := shipping.Ship(shipping.Order{OrderID: "o-1", UserID: "u-1", Country: tt.country, Status: shipping.StatusPending}, at)
		if o.Status != tt.status {
			t.Errorf("%s: status %s, want %s", tt.country, o.Status, tt.status)
		}
		switch e := ev.(type) {
		case schema.ShipmentCreated:
			if tt.status != shipping.StatusCreated || e.Carrier == "" || e.TrackingNumber != shipping.TrackingNumber("o-1") || e.ShipmentID != o.ShipmentID {
				t.Errorf("%s: got %+v", tt.country, e)
			}
		case schema.ShipmentFailed:
			if tt.status != shipping.StatusFailed || e.Reason != schema.ReasonUnsupportedCountry {
				t.Errorf("%s: got %+v", tt.country, e)
			}
		default:
			t.Errorf("%s: event %T", tt.country, ev)
		}
	}
}

func TestDeterministicCarrierAndTracking(t *testing.T) {
	if shipping.CarrierOf("o-1") != shipping.CarrierOf("o-1") || shipping.TrackingNumber("o-1") != shipping.TrackingNumber("o-1") {
		t.Error("not deterministic")
	}
	if shipping.TrackingNumber("o-1") == shipping.TrackingNumber("o-2") {
		t.Error("two orders share a tracking number")
	}
}
