package main

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// checkMailAndAnalytics waits until the email and analytics services
// caught up with the settled orders and checks them: per order exactly the
// mails of its path (received, then shipped or cancelled with the reason
// in words), and a summary whose counts are the orders' final statuses,
// whose revenue is captured − refunded of the payment ledger and whose top
// products are what the shipped orders sold.
func checkMailAndAnalytics(t *testing.T, base string, svc services, orders []placedOrder) {
	t.Helper()
	var problems []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if problems = mailAndAnalyticsProblems(t, base, svc, orders); len(problems) == 0 {
			return
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

var reasonWords = map[string]string{
	"payment_failed":     "your payment was declined",
	"out_of_stock":       "out of stock",
	"shipping_failed":    "cannot ship",
	"customer_cancelled": "you asked us to cancel it",
}

func mailAndAnalyticsProblems(t *testing.T, base string, svc services, orders []placedOrder) []string {
	t.Helper()
	var problems []string
	wantStatus := map[string]int64{"placed": 0, "paid": 0, "reserved": 0, "shipped": 0, "cancelled": 0}
	var shipped int64
	for _, o := range orders {
		wantStatus[o.c.status]++
		last := "order_shipped"
		if o.c.status == "cancelled" {
			last = "order_cancelled"
		} else {
			shipped++
		}
		var box struct {
			Messages []struct {
				Kind, To, Subject, TextBody, HTMLBody, CorrelationID, UserID string
			}
		}
		if code := call(t, "GET", base+"/v1/mailbox?orderId="+o.OrderID, "", nil, &box); code != http.StatusOK {
			problems = append(problems, fmt.Sprintf("mailbox of %s: status %d", o.OrderID, code))
			continue
		}
		var kinds []string
		for _, m := range box.Messages {
			kinds = append(kinds, m.Kind)
			if m.CorrelationID != o.CorrelationID || m.To != m.UserID+"@example.test" || !strings.Contains(m.Subject, o.OrderID) || m.HTMLBody == "" {
				problems = append(problems, fmt.Sprintf("%s %s: mail %s: %+v", o.c.name, o.OrderID, m.Kind, m))
			}
			if m.Kind == "order_cancelled" && !strings.Contains(m.TextBody, reasonWords[o.c.reason]) {
				problems = append(problems, fmt.Sprintf("%s %s: cancellation mail does not say %q:\n%s", o.c.name, o.OrderID, reasonWords[o.c.reason], m.TextBody))
			}
		}
		if want := []string{last, "order_received"}; !slices.Equal(kinds, want) { // newest first
			problems = append(problems, fmt.Sprintf("%s %s: mails %v, want %v", o.c.name, o.OrderID, kinds, want))
		}
	}

	var sum struct {
		OrdersByStatus map[string]int64
		Revenue        map[string]int64
		TopProducts    []struct {
			ProductID, Currency string
			Units               int64
		}
	}
	if code := call(t, "GET", base+"/v1/analytics/summary", "", nil, &sum); code != http.StatusOK {
		return append(problems, fmt.Sprintf("summary: status %d", code))
	}
	for st, n := range wantStatus {
		if sum.OrdersByStatus[st] != n {
			problems = append(problems, fmt.Sprintf("summary: %d %s orders, want %d (%v)", sum.OrdersByStatus[st], st, n, sum.OrdersByStatus))
		}
	}
	var captured, refunded int64
	if err := svc.payment.Read.QueryRow(`SELECT COALESCE(SUM(CASE WHEN kind = 'capture' THEN amount_minor END), 0),
		COALESCE(SUM(CASE WHEN kind = 'refund' THEN amount_minor END), 0) FROM payment_ledger`).Scan(&captured, &refunded); err != nil {
		t.Fatal(err)
	}
	if sum.Revenue["USD"] != captured-refunded {
		problems = append(problems, fmt.Sprintf("summary: revenue %v, ledger captured %d − refunded %d", sum.Revenue, captured, refunded))
	}
	// Every order has one p-6; only shipped ones count.
	var p6 int64
	for _, p := range sum.TopProducts {
		if p.ProductID == "p-6" && p.Currency == "USD" {
			p6 = p.Units
		}
	}
	if p6 != shipped {
		problems = append(problems, fmt.Sprintf("summary: p-6 sold %d units, want %d (one per shipped order): %+v", p6, shipped, sum.TopProducts))
	}
	return problems
}
