package payment

import (
	"errors"
	"fmt"
)

// Payment methods the simulated gateway knows (API.md test triggers).
const (
	MethodOK       = "card_ok"
	MethodDeclined = "card_declined"
	MethodFlaky    = "card_flaky"
)

// FlakyFailures is how many attempts a card_flaky charge fails before it
// succeeds.
const FlakyFailures = 2

// ErrGatewayUnavailable is matched by the transient failure of a charge:
// retrying it later may succeed. The consumer runtime retries the event.
var ErrGatewayUnavailable = errors.New("payment: gateway temporarily unavailable")

// TransientError is a charge that failed transiently on Attempt.
type TransientError struct {
	OrderID string
	Attempt int
}

// Error describes the failed attempt.
func (e *TransientError) Error() string {
	return fmt.Sprintf("%v: order %s, attempt %d", ErrGatewayUnavailable, e.OrderID, e.Attempt)
}

// Unwrap returns ErrGatewayUnavailable.
func (e *TransientError) Unwrap() error { return ErrGatewayUnavailable }

// Verdict is the gateway's answer to a charge.
type Verdict int

// Verdicts.
const (
	// Captured: the amount was authorised and captured.
	Captured Verdict = iota + 1
	// Declined: the card was refused; DeclineReason says why.
	Declined
)

// Charge is the simulated gateway: deterministic per payment method and
// attempt (1 on the first try of an order). It returns Captured or
// Declined with a reason, or a *TransientError for card_flaky on its first
// FlakyFailures attempts.
func Charge(orderID, method string, attempt int) (Verdict, string, error) {
	switch method {
	case MethodOK:
		return Captured, "", nil
	case MethodDeclined:
		return Declined, "card_declined", nil
	case MethodFlaky:
		if attempt <= FlakyFailures {
			return 0, "", &TransientError{OrderID: orderID, Attempt: attempt}
		}
		return Captured, "", nil
	}
	return Declined, "unsupported_payment_method", nil
}
