package check

import (
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/internal/loadgen"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersaga"
)

// TestCheckTerminalTimedOutSteps: an order whose orchestrated saga step
// timed out may end cancelled instead of its path's outcome (the saga
// compensated it), and the summary says how many did; without a timeout
// the same outcome is a violation, and a timeout does not excuse an order
// that is not terminal, or one shipped against its path.
func TestCheckTerminalTimedOutSteps(t *testing.T) {
	streams := map[string]*stream{
		"o-timed-out": {status: order.StatusCancelled, reason: order.ReasonPaymentFailed},
		"o-wrong":     {status: order.StatusCancelled, reason: order.ReasonPaymentFailed},
		"o-stuck":     {status: order.StatusPaid},
		"o-declined":  {status: order.StatusShipped},
	}
	orders := []loadgen.OrderRecord{
		{OrderID: "o-timed-out", Path: "flaky", Status: "shipped"},
		{OrderID: "o-wrong", Path: "flaky", Status: "shipped"},
		{OrderID: "o-stuck", Path: "ok", Status: "shipped"},
		{OrderID: "o-declined", Path: "declined", Status: "cancelled", Reason: "payment_failed"},
	}
	timedOut := map[string]string{"o-timed-out": ordersaga.StepPayment, "o-stuck": ordersaga.StepPayment, "o-declined": ordersaga.StepPayment}
	r := checkTerminal(streams, orders, timedOut)
	details := strings.Join(r.Details, "\n")
	if r.Failures != 3 || strings.Contains(details, "o-timed-out") ||
		!strings.Contains(details, "o-wrong") || !strings.Contains(details, "o-stuck") || !strings.Contains(details, "o-declined") {
		t.Errorf("%d failures:\n%s\nwant o-wrong, o-stuck and o-declined only", r.Failures, details)
	}
	if !strings.Contains(r.Summary, "1 of them cancelled instead") {
		t.Errorf("summary %q does not count the compensated order", r.Summary)
	}
}
