package payment

import (
	"time"

	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
)

// Status is the state of an order's payment.
type Status string

// Payment statuses.
const (
	StatusCaptured Status = "captured"
	StatusFailed   Status = "failed"
	StatusRefunded Status = "refunded"
)

// Payment is the payment of one order.
type Payment struct {
	OrderID     string
	UserID      string
	PaymentID   string
	AmountMinor int64
	Currency    string
	Method      string
	Status      Status
	// FailReason is set when Status is failed.
	FailReason string
	// RefundCause is set when Status is refunded.
	RefundCause schema.Cause
}

// PaymentID is the deterministic id of an order's payment.
func PaymentID(orderID string) string { return "pay-" + orderID }

// Decision is what handling one event does: the payment's new state (nil:
// nothing changes) and the event to publish (nil: none).
type Decision struct {
	Payment *Payment
	Event   any
}

// DecideCharge decides the charge of a placed order. current is the
// order's payment so far (nil if none); a second order.placed for an order
// already charged or refused does nothing, so an order is never charged
// twice. attempt is the delivery attempt (card_flaky). A transient gateway
// failure is returned as a *TransientError.
func DecideCharge(current *Payment, p order.Placed, attempt int, at time.Time) (Decision, error) {
	if current != nil {
		return Decision{}, nil
	}
	verdict, reason, err := Charge(p.OrderID, p.PaymentMethod, attempt)
	if err != nil {
		return Decision{}, err
	}
	pay := &Payment{
		OrderID: p.OrderID, UserID: p.UserID, PaymentID: PaymentID(p.OrderID),
		AmountMinor: p.TotalMinor, Currency: p.Currency, Method: p.PaymentMethod,
	}
	if verdict == Declined {
		pay.Status, pay.FailReason = StatusFailed, reason
		return Decision{Payment: pay, Event: schema.PaymentFailed{
			OrderID: p.OrderID, UserID: p.UserID, AmountMinor: p.TotalMinor, Currency: p.Currency,
			Method: p.PaymentMethod, Reason: reason, FailedAt: at,
		}}, nil
	}
	pay.Status = StatusCaptured
	return Decision{Payment: pay, Event: schema.PaymentSucceeded{
		OrderID: p.OrderID, UserID: p.UserID, PaymentID: pay.PaymentID, AmountMinor: p.TotalMinor,
		Currency: p.Currency, Method: p.PaymentMethod, SucceededAt: at,
	}}, nil
}

// DecideRefund decides a refund for cause. Only a captured payment is
// refunded, and only once: a failed, already refunded or missing payment
// gives an empty Decision.
func DecideRefund(current *Payment, cause schema.Cause, at time.Time) Decision {
	if current == nil || current.Status != StatusCaptured {
		return Decision{}
	}
	pay := *current
	pay.Status, pay.RefundCause = StatusRefunded, cause
	return Decision{Payment: &pay, Event: schema.PaymentRefunded{
		OrderID: pay.OrderID, UserID: pay.UserID, PaymentID: pay.PaymentID, AmountMinor: pay.AmountMinor,
		Currency: pay.Currency, Cause: cause, RefundedAt: at,
	}}
}
