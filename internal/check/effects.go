package check

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// ledgerRow is one payment_ledger row.
type ledgerRow struct {
	order, kind, currency string
	amount                int64
}

// checkMoneyAndEffects: per currency, captured − refunded = the totals of
// the shipped orders; per order, one capture of its total when shipped, a
// capture refunded exactly once when cancelled after capture, nothing for
// unknown orders; a created shipment and a held reservation exactly for
// the shipped orders.
func checkMoneyAndEffects(ctx context.Context, dbs DBs, streams map[string]*stream, timedOut map[string]string) (Result, Result, error) {
	money := Result{Name: MoneyConserved}
	eff := Result{Name: EffectsOnce}
	var ledger []ledgerRow
	rows, err := dbs.Payment.Read.QueryContext(ctx, `SELECT order_id, kind, currency, amount_minor FROM payment_ledger ORDER BY order_id, kind`)
	if err != nil {
		return money, eff, fmt.Errorf("check: payment ledger: %w", err)
	}
	for rows.Next() {
		var l ledgerRow
		if err := rows.Scan(&l.order, &l.kind, &l.currency, &l.amount); err != nil {
			rows.Close()
			return money, eff, err
		}
		ledger = append(ledger, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return money, eff, err
	}

	// Money, per currency.
	net := map[string]int64{}
	revenue := map[string]int64{}
	for _, l := range ledger {
		switch l.kind {
		case "capture":
			net[l.currency] += l.amount
		case "refund":
			net[l.currency] -= l.amount
		}
	}
	for _, s := range streams {
		if s.status == order.StatusShipped && s.placed != nil {
			revenue[s.placed.Currency] += s.placed.TotalMinor
		}
	}
	curs := map[string]bool{}
	for c := range net {
		curs[c] = true
	}
	for c := range revenue {
		curs[c] = true
	}
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(curs)) {
		if net[c] != revenue[c] {
			money.fail("%s: captured − refunded = %d, shipped revenue %d", c, net[c], revenue[c])
		}
		parts = append(parts, fmt.Sprintf("%s %d", c, revenue[c]))
	}
	money.Summary = "captured − refunded = shipped revenue per currency (minor units): " + strings.Join(parts, ", ")
	if len(parts) == 0 {
		money.Summary = "no money moved"
	}

	// Effects, per order.
	type pay struct {
		auths, captures, refunds       int
		authorized, captured, refunded int64
	}
	pays := map[string]*pay{}
	for _, l := range ledger {
		p := pays[l.order]
		if p == nil {
			p = &pay{}
			pays[l.order] = p
		}
		switch l.kind {
		case "authorize": // the hold before the capture: no money moves
			p.auths++
			p.authorized += l.amount
		case "capture":
			p.captures++
			p.captured += l.amount
		case "refund":
			p.refunds++
			p.refunded += l.amount
		default:
			eff.fail("order %s: ledger row of unknown kind %q", l.order, l.kind)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(pays)) {
		if streams[id] == nil {
			p := pays[id]
			eff.fail("order %s: %d captures, %d refunds in the ledger, but no such order", id, p.captures, p.refunds)
		}
	}
	ship, err := statuses(ctx, dbs.Shipping, `SELECT order_id, status FROM shipping_orders`)
	if err != nil {
		return money, eff, err
	}
	inv, err := statuses(ctx, dbs.Inventory, `SELECT order_id, status FROM inventory_orders`)
	if err != nil {
		return money, eff, err
	}
	for _, id := range slices.Sorted(maps.Keys(ship)) {
		if streams[id] == nil {
			eff.fail("order %s: shipping row %q, but no such order", id, ship[id])
		}
	}
	for _, id := range slices.Sorted(maps.Keys(inv)) {
		if streams[id] == nil {
			eff.fail("order %s: inventory row %q, but no such order", id, inv[id])
		}
	}
	checked := 0
	for _, id := range slices.Sorted(maps.Keys(streams)) {
		s := streams[id]
		if !terminal(s.status) || s.placed == nil {
			continue // orders-terminal reports it
		}
		checked++
		p := pays[id]
		if p == nil {
			p = &pay{}
		}
		if p.auths > 1 || p.captures > 1 || p.refunds > 1 {
			eff.fail("order %s: %d authorisations, %d captures, %d refunds (at most one each)", id, p.auths, p.captures, p.refunds)
		}
		if p.captures != p.auths || p.captured != p.authorized {
			eff.fail("order %s: captured %d in %d rows, authorised %d in %d rows (a capture follows its authorisation)",
				id, p.captured, p.captures, p.authorized, p.auths)
		}
		if p.refunds > p.captures {
			eff.fail("order %s: refunded without a capture", id)
		}
		shipped := s.status == order.StatusShipped
		switch {
		case shipped && (p.captures != 1 || p.refunds != 0):
			eff.fail("order %s shipped: %d captures, %d refunds, want 1, 0", id, p.captures, p.refunds)
		case shipped && p.captured != s.placed.TotalMinor:
			eff.fail("order %s shipped: captured %d, total %d", id, p.captured, s.placed.TotalMinor)
		case !shipped && p.captured != p.refunded:
			eff.fail("order %s cancelled (%s): captured %d, refunded %d", id, s.reason, p.captured, p.refunded)
		case !shipped && s.reason == order.ReasonPaymentFailed && p.captures != 0 && timedOut[id] != ordersaga.StepPayment:
			// A declined payment never captures. Only an orchestrated
			// payment step that timed out may have charged (its reply
			// was late): then the capture is refunded, checked above.
			eff.fail("order %s cancelled (payment_failed) has a capture", id)
		}
		if got := ship[id] == "created"; got != shipped {
			eff.fail("order %s %s: shipping row %q", id, s.status, ship[id])
		}
		if got := inv[id] == "reserved"; got != shipped {
			eff.fail("order %s %s: inventory row %q", id, s.status, inv[id])
		}
	}
	eff.Summary = fmt.Sprintf("%d terminal orders: ≤ 1 authorisation, capture and refund each, ≤ 1 release, one shipment exactly when shipped", checked)
	return money.done(), eff.done(), nil
}

// sagaTimeouts lists the orders whose orchestrated saga saw a step time
// out, with the first such step's name (saga_history; none under
// choreography, or before the saga tables exist). A timed-out step is
// compensated — its action may have run — so such an order may end
// cancelled whatever its path, its charge refunded.
func sagaTimeouts(ctx context.Context, db *sqldb.DB) (map[string]string, error) {
	out := map[string]string{}
	if db == nil {
		return out, nil
	}
	rows, err := db.Read.QueryContext(ctx, `SELECT saga_id, step_name FROM saga_history WHERE event = $1 ORDER BY id`, saga.EventTimedOut)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "does not exist") {
			return out, nil
		}
		return nil, fmt.Errorf("check: saga history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, step string
		if err := rows.Scan(&id, &step); err != nil {
			return nil, err
		}
		if _, ok := out[id]; !ok {
			out[id] = step
		}
	}
	return out, rows.Err()
}

// statuses reads order_id → status.
func statuses(ctx context.Context, db *sqldb.DB, q string) (map[string]string, error) {
	rows, err := db.Read.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("check: %s: %w", q, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, rows.Err()
}

// checkOutbox: every outbox table is empty.
func checkOutbox(ctx context.Context, dbs map[string]*sqldb.DB) Result {
	r := Result{Name: OutboxDrained}
	var names []string
	for _, name := range slices.Sorted(maps.Keys(dbs)) {
		var n int64
		if err := dbs[name].Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
			if strings.Contains(err.Error(), "no such table") || strings.Contains(err.Error(), "does not exist") {
				continue // a service that publishes nothing
			}
			r.fail("%s: %v", name, err)
			continue
		}
		names = append(names, name)
		if n > 0 {
			r.fail("%s: %d rows not published", name, n)
		}
	}
	r.Summary = "outboxes of " + strings.Join(names, ", ")
	return r.done()
}

// checkDLQ: the dead-letter topics hold cfg.ExpectDLQ letters.
func checkDLQ(ctx context.Context, cfg Config) Result {
	r := Result{Name: DLQExpected}
	if cfg.DLQ == nil {
		r.Status, r.Summary = Skip, "no --brokers: dead-letter topics not read"
		return r
	}
	n, letters, err := cfg.DLQ(ctx)
	if err != nil {
		r.fail("read dead letters: %v", err)
		r.Summary = "dead-letter topics"
		return r.done()
	}
	if n != cfg.ExpectDLQ {
		r.fail("%d dead letters, expected %d", n, cfg.ExpectDLQ)
		for _, l := range letters {
			if len(r.Details) < MaxDetails {
				r.Details = append(r.Details, l)
			}
		}
	}
	r.Summary = fmt.Sprintf("%d dead letters, expected %d", n, cfg.ExpectDLQ)
	return r.done()
}
