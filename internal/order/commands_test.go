package order_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/order"
)

func TestPlace(t *testing.T) {
	o := &order.Order{}
	evs, err := o.Place(placeCmd("o-1"))
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	if got, want := eventTypes(evs), "[order.placed]"; got != want {
		t.Fatalf("events: got %s, want %s", got, want)
	}
	p := evs[0].(order.Placed)
	if p.TotalMinor != 2*1299+500 {
		t.Errorf("TotalMinor: got %d, want %d", p.TotalMinor, 2*1299+500)
	}
	if o.Status != order.StatusPlaced || o.ID != "o-1" || o.UserID != "u-42" || o.TotalMinor != 3098 ||
		o.Currency != "USD" || o.Version != 1 || !o.PlacedAt.Equal(at(0)) || !o.UpdatedAt.Equal(at(0)) {
		t.Errorf("order after Place: got %+v", o)
	}
	if got := o.Changes(); len(got) != 1 {
		t.Errorf("Changes: got %d events, want 1", len(got))
	}
	if _, err := o.Place(placeCmd("o-1")); !errors.Is(err, order.ErrIllegalTransition) {
		t.Errorf("second Place: got %v, want ErrIllegalTransition", err)
	}
}

func TestPlaceTruncatesTime(t *testing.T) {
	cmd := placeCmd("o-1")
	cmd.At = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600))
	o := &order.Order{}
	if _, err := o.Place(cmd); err != nil {
		t.Fatalf("Place: %v", err)
	}
	if want := time.Date(2026, 1, 2, 2, 4, 5, 123e6, time.UTC); !o.PlacedAt.Equal(want) || o.PlacedAt.Location() != time.UTC {
		t.Errorf("PlacedAt: got %v, want %v", o.PlacedAt, want)
	}
}

func TestPlaceReportsEveryProblem(t *testing.T) {
	cmd := order.PlaceOrder{
		Items: []order.Item{
			{ProductID: "", Quantity: 0, UnitPriceMinor: -1},
			{ProductID: "p 2", Quantity: 1001, UnitPriceMinor: 1},
		},
		Currency:        "XYZ",
		ShippingAddress: order.Address{Line1: "1 Main St", City: "x\x00", Country: "us"},
	}
	_, err := (&order.Order{}).Place(cmd)
	if !errors.Is(err, order.ErrInvalid) {
		t.Fatalf("Place: got %v, want ErrInvalid", err)
	}
	var ve *order.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Place: got %T, want *ValidationError", err)
	}
	var fields []string
	for _, p := range ve.Problems {
		fields = append(fields, p.Field)
	}
	want := []string{"orderId", "userId", "items[0].productId", "items[0].quantity", "items[0].unitPriceMinor",
		"items[1].productId", "items[1].quantity", "currency", "paymentMethod", "shippingAddress.name",
		"shippingAddress.city", "shippingAddress.country", "at"}
	if !slices.Equal(fields, want) {
		t.Errorf("problem fields:\n got %v\nwant %v", fields, want)
	}
	if !strings.Contains(err.Error(), "items[1].quantity: 1001, must be between 1 and 1000") {
		t.Errorf("Error: got %q, want it to name items[1].quantity", err)
	}
}

func TestPlaceLimits(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*order.PlaceOrder)
		field string
	}{
		{"no items", func(c *order.PlaceOrder) { c.Items = nil }, "items"},
		{"too many items", func(c *order.PlaceOrder) {
			c.Items = slices.Repeat([]order.Item{{ProductID: "p", Quantity: 1, UnitPriceMinor: 1}}, order.MaxItems+1)
		}, "items"},
		{"total overflows", func(c *order.PlaceOrder) {
			c.Items = []order.Item{{ProductID: "p", Quantity: 1000, UnitPriceMinor: 1 << 60}}
		}, "items"},
		{"long address line", func(c *order.PlaceOrder) { c.ShippingAddress.Line2 = strings.Repeat("x", 201) }, "shippingAddress.line2"},
		{"invalid UTF-8 name", func(c *order.PlaceOrder) { c.ShippingAddress.Name = "A\xffa" }, "shippingAddress.name"},
		{"zero time", func(c *order.PlaceOrder) { c.At = time.Time{} }, "at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := placeCmd("o-1")
			tt.edit(&cmd)
			_, err := (&order.Order{}).Place(cmd)
			var ve *order.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) != 1 || ve.Problems[0].Field != tt.field {
				t.Errorf("Place: got %v, want one problem with %s", err, tt.field)
			}
		})
	}
}

// TestTransitions runs every command in every status.
func TestTransitions(t *testing.T) {
	type cmd struct {
		name string
		run  func(*order.Order) ([]order.Event, error)
	}
	pay := cmd{"pay", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("pay-2", at(10)) }}
	reserve := cmd{"reserve", func(o *order.Order) ([]order.Event, error) { return o.MarkReserved("", at(10)) }}
	ship := cmd{"ship", func(o *order.Order) ([]order.Event, error) { return o.MarkShipped("DHL", "T-1", at(10)) }}
	cancel := func(r order.Reason) cmd {
		return cmd{"cancel " + string(r), func(o *order.Order) ([]order.Event, error) { return o.Cancel(r, at(10)) }}
	}
	const (
		emits   = "emits"
		noop    = "no-op"
		illegal = "illegal"
	)
	tests := []struct {
		from   order.Status
		reason order.Reason // of a cancelled order
		cmd    cmd
		want   string
		status order.Status // after
	}{
		{"", "", pay, illegal, ""},
		{"", "", cancel(order.ReasonCustomerCancelled), illegal, ""},
		{order.StatusPlaced, "", pay, emits, order.StatusPaid},
		{order.StatusPlaced, "", reserve, illegal, order.StatusPlaced},
		{order.StatusPlaced, "", ship, illegal, order.StatusPlaced},
		{order.StatusPlaced, "", cancel(order.ReasonPaymentFailed), emits, order.StatusCancelled},
		{order.StatusPlaced, "", cancel(order.ReasonCustomerCancelled), emits, order.StatusCancelled},
		{order.StatusPaid, "", pay, noop, order.StatusPaid},
		{order.StatusPaid, "", reserve, emits, order.StatusReserved},
		{order.StatusPaid, "", ship, illegal, order.StatusPaid},
		{order.StatusPaid, "", cancel(order.ReasonOutOfStock), emits, order.StatusCancelled},
		{order.StatusPaid, "", cancel(order.ReasonCustomerCancelled), emits, order.StatusCancelled},
		{order.StatusReserved, "", pay, noop, order.StatusReserved},
		{order.StatusReserved, "", reserve, noop, order.StatusReserved},
		{order.StatusReserved, "", ship, emits, order.StatusShipped},
		{order.StatusReserved, "", cancel(order.ReasonShippingFailed), emits, order.StatusCancelled},
		{order.StatusReserved, "", cancel(order.ReasonCustomerCancelled), emits, order.StatusCancelled},
		{order.StatusShipped, "", pay, noop, order.StatusShipped},
		{order.StatusShipped, "", reserve, noop, order.StatusShipped},
		{order.StatusShipped, "", ship, noop, order.StatusShipped},
		{order.StatusShipped, "", cancel(order.ReasonCustomerCancelled), illegal, order.StatusShipped},
		{order.StatusShipped, "", cancel(order.ReasonShippingFailed), illegal, order.StatusShipped},
		{order.StatusCancelled, order.ReasonPaymentFailed, pay, illegal, order.StatusCancelled},
		{order.StatusCancelled, order.ReasonPaymentFailed, reserve, illegal, order.StatusCancelled},
		{order.StatusCancelled, order.ReasonPaymentFailed, ship, illegal, order.StatusCancelled},
		{order.StatusCancelled, order.ReasonPaymentFailed, cancel(order.ReasonPaymentFailed), noop, order.StatusCancelled},
		{order.StatusCancelled, order.ReasonPaymentFailed, cancel(order.ReasonCustomerCancelled), illegal, order.StatusCancelled},
		{order.StatusCancelled, order.ReasonCustomerCancelled, cancel(order.ReasonCustomerCancelled), illegal, order.StatusCancelled},
	}
	for _, tt := range tests {
		name := string(tt.from)
		if tt.reason != "" {
			name += "(" + string(tt.reason) + ")"
		}
		t.Run(name+"/"+tt.cmd.name, func(t *testing.T) {
			o := orderIn(t, tt.from, tt.reason)
			before := o.Version
			evs, err := tt.cmd.run(o)
			switch tt.want {
			case emits:
				if err != nil || len(evs) != 1 {
					t.Fatalf("got %d events, %v; want 1 event", len(evs), err)
				}
				if o.Version != before+1 {
					t.Errorf("Version: got %d, want %d", o.Version, before+1)
				}
			case noop:
				if err != nil || len(evs) != 0 {
					t.Fatalf("got %s, %v; want no events and no error", eventTypes(evs), err)
				}
				if o.Version != before {
					t.Errorf("Version: got %d, want %d", o.Version, before)
				}
			case illegal:
				var te *order.TransitionError
				if !errors.As(err, &te) || !errors.Is(err, order.ErrIllegalTransition) || len(evs) != 0 {
					t.Fatalf("got %s, %v; want a *TransitionError", eventTypes(evs), err)
				}
				if te.From != tt.from {
					t.Errorf("TransitionError.From: got %q, want %q", te.From, tt.from)
				}
			}
			if o.Status != tt.status {
				t.Errorf("status: got %q, want %q", o.Status, tt.status)
			}
		})
	}
}

func TestCommandInputErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func(*order.Order) ([]order.Event, error)
	}{
		{"pay without time", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("", time.Time{}) }},
		{"pay with bad id", func(o *order.Order) ([]order.Event, error) { return o.MarkPaid("a b", at(1)) }},
		{"ship without carrier", func(o *order.Order) ([]order.Event, error) { return o.MarkShipped("", "T", at(1)) }},
		{"ship without tracking", func(o *order.Order) ([]order.Event, error) { return o.MarkShipped("UPS", "", at(1)) }},
		{"cancel with unknown reason", func(o *order.Order) ([]order.Event, error) { return o.Cancel("bored", at(1)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := orderIn(t, order.StatusPlaced, "")
			if _, err := tt.run(o); !errors.Is(err, order.ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
			if o.Status != order.StatusPlaced {
				t.Errorf("status: got %q, want placed", o.Status)
			}
		})
	}
}

func TestTransitionErrorMessage(t *testing.T) {
	o := orderIn(t, order.StatusShipped, "")
	_, err := o.Cancel(order.ReasonCustomerCancelled, at(9))
	if got, want := err.Error(), "order: illegal transition: cannot cancel (customer_cancelled) an order that is shipped"; got != want {
		t.Errorf("Error: got %q, want %q", got, want)
	}
}

func TestApplyIgnoresUnknown(t *testing.T) {
	o := orderIn(t, order.StatusPaid, "")
	before := *o
	o.Apply(order.Unknown{Type: "order.gift-wrapped", At: at(20)})
	if o.Version != before.Version+1 || o.Status != before.Status || !o.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("after Unknown: got version %d status %q updated %v, want version %d and nothing else changed",
			o.Version, o.Status, o.UpdatedAt, before.Version+1)
	}
}
