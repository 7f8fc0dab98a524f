package analytics

import (
	"time"

	"github.com/causeway-dev/causeway/internal/order"
)

// Status is an order's status as analytics tracks it (the order
// aggregate's statuses).
type Status string

// Statuses, in the order an order moves through them.
const (
	StatusNone      Status = "" // no event seen yet
	StatusPlaced    Status = "placed"
	StatusPaid      Status = "paid"
	StatusReserved  Status = "reserved"
	StatusShipped   Status = "shipped"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every status a summary reports.
var Statuses = []Status{StatusPlaced, StatusPaid, StatusReserved, StatusShipped, StatusCancelled}

func rank(s Status) int {
	switch s {
	case StatusPlaced:
		return 1
	case StatusPaid:
		return 2
	case StatusReserved:
		return 3
	case StatusShipped, StatusCancelled:
		return 4
	}
	return 0
}

// Terminal reports whether s never changes again.
func (s Status) Terminal() bool { return s == StatusShipped || s == StatusCancelled }

// Advance reports whether an order in status cur moves to next: only
// forward, and never out of a terminal status. A duplicate, a stale or an
// unknown status does not move it.
func Advance(cur, next Status) bool {
	if cur.Terminal() || rank(next) == 0 {
		return false
	}
	return rank(next) > rank(cur)
}

// StatusOf returns the status an order event moves an order to, and false
// for other event types.
func StatusOf(eventType string) (Status, bool) {
	switch eventType {
	case order.TypePlaced:
		return StatusPlaced, true
	case order.TypePaid:
		return StatusPaid, true
	case order.TypeReserved:
		return StatusReserved, true
	case order.TypeShipped:
		return StatusShipped, true
	case order.TypeCancelled:
		return StatusCancelled, true
	}
	return StatusNone, false
}

// Minute is the start of the minute bucket of t, in UTC.
func Minute(t time.Time) time.Time { return t.UTC().Truncate(time.Minute) }

// Window is how far back the summary's revenueByMinute reaches.
const Window = 60 * time.Minute

// TopN is how many products the summary lists.
const TopN = 10

// Summary is GET /v1/analytics/summary.
type Summary struct {
	// OrdersByStatus counts orders per current status; every status is
	// present.
	OrdersByStatus map[Status]int64 `json:"ordersByStatus"`
	// Revenue is captured − refunded of all time, in minor units per
	// currency.
	Revenue map[string]int64 `json:"revenue"`
	// RevenueByMinute is captured − refunded per minute and currency, for
	// the minutes of the last Window that have payments, oldest first.
	RevenueByMinute []MinuteRevenue `json:"revenueByMinute"`
	// TopProducts are the TopN best sellers among shipped orders, by units
	// then revenue, per product and currency.
	TopProducts []ProductSales `json:"topProducts"`
	// AsOf is when the summary was read.
	AsOf time.Time `json:"asOf"`
}

// MinuteRevenue is the revenue of one minute in one currency.
type MinuteRevenue struct {
	Minute      time.Time `json:"minute"`
	Currency    string    `json:"currency"`
	AmountMinor int64     `json:"amountMinor"`
}

// ProductSales is what shipped orders sold of one product in one
// currency.
type ProductSales struct {
	ProductID    string `json:"productId"`
	Currency     string `json:"currency"`
	Units        int64  `json:"units"`
	RevenueMinor int64  `json:"revenueMinor"`
}

// Line is one order line as analytics stores it.
type Line struct {
	ProductID      string `json:"productId"`
	Quantity       int    `json:"quantity"`
	UnitPriceMinor int64  `json:"unitPriceMinor"`
}

// Sales returns what shipping the lines sells, per product (lines of one
// product are added up), in the order the products first appear.
func Sales(lines []Line, currency string) []ProductSales {
	var out []ProductSales
	idx := map[string]int{}
	for _, l := range lines {
		i, ok := idx[l.ProductID]
		if !ok {
			i = len(out)
			idx[l.ProductID] = i
			out = append(out, ProductSales{ProductID: l.ProductID, Currency: currency})
		}
		out[i].Units += int64(l.Quantity)
		out[i].RevenueMinor += int64(l.Quantity) * l.UnitPriceMinor
	}
	return out
}
