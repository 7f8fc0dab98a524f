package payment_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
)

var at = time.Date(2026, 11, 25, 15, 30, 0, 0, time.UTC)

func placed(method string) order.Placed {
	return order.Placed{OrderID: "o-1", UserID: "u-1", TotalMinor: 2598, Currency: "USD", PaymentMethod: method, PlacedAt: at}
}

func TestCharge(t *testing.T) {
	tests := []struct {
		method    string
		attempt   int
		verdict   payment.Verdict
		reason    string
		transient bool
	}{
		{payment.MethodOK, 1, payment.Captured, "", false},
		{payment.MethodDeclined, 1, payment.Declined, schema.ReasonCardDeclined, false},
		{payment.MethodDeclined, 3, payment.Declined, schema.ReasonCardDeclined, false},
		{payment.MethodFlaky, 1, 0, "", true},
		{payment.MethodFlaky, 2, 0, "", true},
		{payment.MethodFlaky, 3, payment.Captured, "", false},
		{payment.MethodFlaky, 9, payment.Captured, "", false},
		{"bitcoin", 1, payment.Declined, schema.ReasonUnsupportedMethod, false},
	}
	for _, tt := range tests {
		v, reason, err := payment.Charge("o-1", tt.method, tt.attempt)
		if got := errors.Is(err, payment.ErrGatewayUnavailable); got != tt.transient {
			t.Errorf("%s attempt %d: transient = %v (%v), want %v", tt.method, tt.attempt, got, err, tt.transient)
		}
		if v != tt.verdict || reason != tt.reason {
			t.Errorf("%s attempt %d: got %v %q, want %v %q", tt.method, tt.attempt, v, reason, tt.verdict, tt.reason)
		}
	}
}

func TestDecideCharge(t *testing.T) {
	captured := &payment.Payment{OrderID: "o-1", Status: payment.StatusCaptured}
	tests := []struct {
		name    string
		current *payment.Payment
		method  string
		attempt int
		status  payment.Status // "" = no change
		event   any
		err     error
	}{
		{"ok", nil, payment.MethodOK, 1, payment.StatusCaptured, schema.PaymentSucceeded{OrderID: "o-1", UserID: "u-1", PaymentID: "pay-o-1", AmountMinor: 2598, Currency: "USD", Method: "card_ok", SucceededAt: at}, nil},
		{"declined", nil, payment.MethodDeclined, 1, payment.StatusFailed, schema.PaymentFailed{OrderID: "o-1", UserID: "u-1", AmountMinor: 2598, Currency: "USD", Method: "card_declined", Reason: "card_declined", FailedAt: at}, nil},
		{"flaky first attempt", nil, payment.MethodFlaky, 1, "", nil, payment.ErrGatewayUnavailable},
		{"flaky third attempt", nil, payment.MethodFlaky, 3, payment.StatusCaptured, schema.PaymentSucceeded{OrderID: "o-1", UserID: "u-1", PaymentID: "pay-o-1", AmountMinor: 2598, Currency: "USD", Method: "card_flaky", SucceededAt: at}, nil},
		{"already charged: never twice", captured, payment.MethodOK, 1, "", nil, nil},
		{"already declined", &payment.Payment{Status: payment.StatusFailed}, payment.MethodOK, 1, "", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := payment.DecideCharge(tt.current, placed(tt.method), tt.attempt, at)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			var status payment.Status
			if d.Payment != nil {
				status = d.Payment.Status
			}
			if status != tt.status {
				t.Errorf("status %q, want %q", status, tt.status)
			}
			if !reflect.DeepEqual(d.Event, tt.event) {
				t.Errorf("event %+v, want %+v", d.Event, tt.event)
			}
		})
	}
}

func TestDecideRefund(t *testing.T) {
	captured := &payment.Payment{OrderID: "o-1", UserID: "u-1", PaymentID: "pay-o-1", AmountMinor: 500, Currency: "EUR", Status: payment.StatusCaptured}
	tests := []struct {
		name    string
		current *payment.Payment
		refund  bool
	}{
		{"captured", captured, true},
		{"already refunded: at most once", &payment.Payment{Status: payment.StatusRefunded}, false},
		{"failed: nothing to give back", &payment.Payment{Status: payment.StatusFailed}, false},
		{"no payment", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := payment.DecideRefund(tt.current, schema.CauseOutOfStock, at)
			if got := d.Event != nil; got != tt.refund {
				t.Fatalf("refund = %v, want %v", got, tt.refund)
			}
			if !tt.refund {
				return
			}
			want := schema.PaymentRefunded{OrderID: "o-1", UserID: "u-1", PaymentID: "pay-o-1", AmountMinor: 500, Currency: "EUR", Cause: schema.CauseOutOfStock, RefundedAt: at}
			if !reflect.DeepEqual(d.Event, want) || d.Payment.Status != payment.StatusRefunded || d.Payment.RefundCause != schema.CauseOutOfStock {
				t.Errorf("got %+v / %+v, want %+v", d.Payment, d.Event, want)
			}
			if tt.current.Status != payment.StatusCaptured {
				t.Error("DecideRefund changed its argument")
			}
		})
	}
}
