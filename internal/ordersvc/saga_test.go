package ordersvc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/schema"
)

func sagaEnv(t *testing.T, data any) event.Envelope {
	t.Helper()
	env, err := schema.New(data, event.Metadata{CorrelationID: "c", CausationID: "e", Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// orderIn returns an order in status s (via the aggregate's commands).
func orderIn(t *testing.T, s order.Status, reason order.Reason) *order.Order {
	t.Helper()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	o := &order.Order{}
	if _, err := o.Place(order.PlaceOrder{OrderID: "o-1", UserID: "u-1", Items: []order.Item{{ProductID: "p-1", Quantity: 1, UnitPriceMinor: 100}},
		Currency: "USD", PaymentMethod: "card_ok", ShippingAddress: order.Address{Name: "A", Line1: "1", City: "C", Country: "US"}, At: at}); err != nil {
		t.Fatal(err)
	}
	steps := map[order.Status]int{order.StatusPlaced: 0, order.StatusPaid: 1, order.StatusReserved: 2, order.StatusShipped: 3}
	n, ok := steps[s]
	if s == order.StatusCancelled {
		if _, err := o.Cancel(reason, at); err != nil {
			t.Fatal(err)
		}
		return o
	}
	if !ok {
		t.Fatalf("status %s", s)
	}
	if n >= 1 {
		o.MarkPaid("", at)
	}
	if n >= 2 {
		o.MarkReserved("", at)
	}
	if n >= 3 {
		o.MarkShipped("DHL", "T1", at)
	}
	return o
}

func TestSagaTransitions(t *testing.T) {
	at := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		data       any
		from       order.Status
		fromReason order.Reason
		noCommand  bool
		status     order.Status
		reason     order.Reason
		notYet     bool
	}{
		{name: "paid", data: schema.PaymentSucceeded{OrderID: "o-1", PaymentID: "pay-1"}, from: order.StatusPlaced, status: order.StatusPaid},
		{name: "payment failed", data: schema.PaymentFailed{OrderID: "o-1"}, from: order.StatusPlaced, status: order.StatusCancelled, reason: order.ReasonPaymentFailed},
		{name: "reserved", data: schema.StockReserved{OrderID: "o-1", ReservationID: "r-1"}, from: order.StatusPaid, status: order.StatusReserved},
		{name: "reserved before paid: retry", data: schema.StockReserved{OrderID: "o-1"}, from: order.StatusPlaced, notYet: true},
		{name: "shipped", data: schema.ShipmentCreated{OrderID: "o-1", Carrier: "DHL", TrackingNumber: "T1"}, from: order.StatusReserved, status: order.StatusShipped},
		{name: "shipped before reserved: retry", data: schema.ShipmentCreated{OrderID: "o-1", Carrier: "DHL", TrackingNumber: "T1"}, from: order.StatusPaid, notYet: true},
		{name: "out-of-stock refund before paid: wait", data: schema.PaymentRefunded{OrderID: "o-1", Cause: schema.CauseOutOfStock}, from: order.StatusPlaced, notYet: true},
		{name: "shipping-failed refund before reserved: wait", data: schema.PaymentRefunded{OrderID: "o-1", Cause: schema.CauseShippingFailed}, from: order.StatusPaid, notYet: true},
		{name: "refund after out of stock", data: schema.PaymentRefunded{OrderID: "o-1", Cause: schema.CauseOutOfStock}, from: order.StatusPaid, status: order.StatusCancelled, reason: order.ReasonOutOfStock},
		{name: "refund after shipping failed", data: schema.PaymentRefunded{OrderID: "o-1", Cause: schema.CauseShippingFailed}, from: order.StatusReserved, status: order.StatusCancelled, reason: order.ReasonShippingFailed},
		{name: "refund of the customer's cancel: nothing", data: schema.PaymentRefunded{OrderID: "o-1", Cause: schema.CauseCustomerCancelled}, noCommand: true},
		{name: "late payment of a cancelled order: stale", data: schema.PaymentSucceeded{OrderID: "o-1"}, from: order.StatusCancelled, fromReason: order.ReasonCustomerCancelled, status: order.StatusCancelled, reason: order.ReasonCustomerCancelled},
		{name: "late shipment of a cancelled order: stale", data: schema.ShipmentCreated{OrderID: "o-1", Carrier: "DHL", TrackingNumber: "T1"}, from: order.StatusCancelled, fromReason: order.ReasonCustomerCancelled, status: order.StatusCancelled, reason: order.ReasonCustomerCancelled},
		{name: "out-of-stock refund after the customer cancelled: stale", data: schema.PaymentRefunded{OrderID: "o-1", Cause: schema.CauseOutOfStock}, from: order.StatusCancelled, fromReason: order.ReasonCustomerCancelled, status: order.StatusCancelled, reason: order.ReasonCustomerCancelled},
		{name: "duplicate payment: no-op", data: schema.PaymentSucceeded{OrderID: "o-1"}, from: order.StatusReserved, status: order.StatusReserved},
		{name: "stock released: nothing", data: schema.StockReleased{OrderID: "o-1"}, noCommand: true},
		{name: "shipment failed: wait for the refund", data: schema.ShipmentFailed{OrderID: "o-1"}, noCommand: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, cmd, ok, err := ordersvc.SagaCommand(sagaEnv(t, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if ok == tt.noCommand {
				t.Fatalf("command: %v, want %v", ok, !tt.noCommand)
			}
			if !ok {
				return
			}
			if id != "o-1" {
				t.Errorf("order %q, want o-1", id)
			}
			o := orderIn(t, tt.from, tt.fromReason)
			_, err = cmd(o, at)
			err = ordersvc.Judge(o, err)
			if got := errors.Is(err, ordersvc.ErrNotYet); got != tt.notYet {
				t.Fatalf("err = %v, want ErrNotYet: %v", err, tt.notYet)
			}
			if tt.notYet {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != tt.status || o.CancellationReason != tt.reason {
				t.Errorf("got %s/%s, want %s/%s", o.Status, o.CancellationReason, tt.status, tt.reason)
			}
		})
	}
}
