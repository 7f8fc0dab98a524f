package order_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
)

// Commands decide, Apply evolves: the pure aggregate, without a store.
func ExampleOrder() {
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	o := &order.Order{}
	_, err := o.Place(order.PlaceOrder{
		OrderID:         "o-1",
		UserID:          "u-42",
		Items:           []order.Item{{ProductID: "p-1", Quantity: 2, UnitPriceMinor: 1299}},
		Currency:        "USD",
		PaymentMethod:   "card_ok",
		ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"},
		At:              now,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	evs, _ := o.MarkPaid("pay-1", now.Add(time.Second))
	fmt.Println(o.Status, o.TotalMinor, o.Currency, len(evs))

	evs, err = o.MarkPaid("pay-1", now.Add(2*time.Second)) // a redelivery: no-op
	fmt.Println(len(evs), err)

	_, err = o.MarkShipped("UPS", "1Z999", now.Add(3*time.Second)) // not reserved yet
	fmt.Println(errors.Is(err, order.ErrIllegalTransition))
	// Output:
	// paid 2598 USD 1
	// 0 <nil>
	// true
}

// The repository loads, runs the closure, and appends what it raised.
func ExampleRepository() {
	ctx := context.Background()
	repo := order.NewRepository(newMemStore())
	now := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	md := event.StartFlow("order-service")

	_, err := repo.Create(ctx, "o-1", md, func(o *order.Order) error {
		_, err := o.Place(order.PlaceOrder{
			OrderID: "o-1", UserID: "u-42", Currency: "EUR", PaymentMethod: "card_ok",
			Items:           []order.Item{{ProductID: "p-1", Quantity: 1, UnitPriceMinor: 500}},
			ShippingAddress: order.Address{Name: "Ada", Line1: "1 Main St", City: "Springfield", Country: "US"},
			At:              now,
		})
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := repo.Update(ctx, "o-1", md, func(o *order.Order) error {
		_, err := o.Cancel(order.ReasonCustomerCancelled, now.Add(time.Minute))
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Order.Status, res.Order.CancellationReason, res.Events[0].EventType, res.Append.Version)
	// Output:
	// cancelled customer_cancelled order.cancelled 2
}
