package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/loadgen"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/sqldb"
)

// Invariant names, as the checklist shows them.
const (
	OrdersTerminal     = "orders-terminal"
	VersionsContiguous = "versions-contiguous"
	TransitionsLegal   = "transitions-legal"
	StockConserved     = "stock-conserved"
	MoneyConserved     = "money-conserved"
	EffectsOnce        = "effects-once"
	OutboxDrained      = "outbox-drained"
	DLQExpected        = "dlq-expected"
)

// Statuses of a Result.
const (
	Pass = "PASS"
	Fail = "FAIL"
	Skip = "SKIP"
)

// MaxDetails caps the failure details kept per invariant.
const MaxDetails = 20

// Result is one invariant's verdict.
type Result struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// Summary says what was checked.
	Summary string `json:"summary"`
	// Failures counts the violations; Details lists the first MaxDetails.
	Failures int      `json:"failures,omitempty"`
	Details  []string `json:"details,omitempty"`
}

func (r *Result) fail(format string, args ...any) {
	r.Failures++
	if len(r.Details) < MaxDetails {
		r.Details = append(r.Details, fmt.Sprintf(format, args...))
	}
}

func (r *Result) done() Result {
	if r.Status == "" {
		r.Status = Pass
		if r.Failures > 0 {
			r.Status = Fail
		}
	}
	return *r
}

// Report is the checklist.
type Report struct {
	OK      bool     `json:"ok"`
	Results []Result `json:"results"`
}

// Result returns the result of the named invariant.
func (r *Report) Result(name string) (Result, bool) {
	for _, x := range r.Results {
		if x.Name == name {
			return x, true
		}
	}
	return Result{}, false
}

// WriteText writes the checklist.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, x := range r.Results {
		fmt.Fprintf(&b, "%s  %-20s %s\n", x.Status, x.Name, x.Summary)
		for _, d := range x.Details {
			fmt.Fprintf(&b, "      - %s\n", d)
		}
		if x.Failures > len(x.Details) {
			fmt.Fprintf(&b, "      … and %d more\n", x.Failures-len(x.Details))
		}
	}
	if r.OK {
		b.WriteString("all invariants hold\n")
	} else {
		b.WriteString("INVARIANTS VIOLATED\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// DBs are the services' databases. Outboxes lists every database that may
// hold an outbox table, by service name (tables are looked for).
type DBs struct {
	Order, Payment, Inventory, Shipping *sqldb.DB
	Outboxes                            map[string]*sqldb.DB
	// Read is the read service's database, for CheckProjections (nil when
	// there is none); Run does not use it.
	Read *sqldb.DB
}

// DLQCounter returns the number of dead letters and a short description
// of each.
type DLQCounter func(ctx context.Context) (int, []string, error)

// Config is what a check compares with.
type Config struct {
	// Catalog gives each product's initial stock.
	Catalog *catalog.Catalog
	// Orders are the accepted orders of the run (nil: every order in the
	// event store is checked to be terminal, without expected outcomes).
	Orders []loadgen.OrderRecord
	// DLQ counts dead letters (nil: the DLQ invariant is skipped).
	DLQ DLQCounter
	// ExpectDLQ is the number of dead letters expected.
	ExpectDLQ int
}

// stream is one order's events, decoded.
type stream struct {
	id       string // order id
	versions []int64
	events   []order.Event
	placed   *order.Placed
	status   order.Status
	reason   order.Reason
	paid     bool
}

// Run checks every invariant. An error means the databases could not be
// read; violations are in the report.
func Run(ctx context.Context, dbs DBs, cfg Config) (*Report, error) {
	streams, readErr := loadStreams(ctx, dbs.Order)
	if readErr != nil {
		return nil, readErr
	}
	rep := &Report{OK: true}
	add := func(r Result) {
		rep.Results = append(rep.Results, r)
		if r.Status == Fail {
			rep.OK = false
		}
	}
	timedOut, err := sagaTimeouts(ctx, dbs.Order)
	if err != nil {
		return nil, err
	}
	add(checkTerminal(streams, cfg.Orders, timedOut))
	vc, tl := checkStreams(streams)
	add(vc)
	add(tl)
	r, err := checkStock(ctx, dbs.Inventory, cfg.Catalog, streams)
	if err != nil {
		return nil, err
	}
	add(r)
	m, eff, err := checkMoneyAndEffects(ctx, dbs, streams, timedOut)
	if err != nil {
		return nil, err
	}
	add(m)
	add(eff)
	add(checkOutbox(ctx, dbs.Outboxes))
	add(checkDLQ(ctx, cfg))
	return rep, nil
}

// loadStreams reads the whole event store and groups the order streams.
func loadStreams(ctx context.Context, db *sqldb.DB) (map[string]*stream, error) {
	store := sqlstore.New(db)
	defer store.Close()
	codec, err := order.NewCodec()
	if err != nil {
		return nil, err
	}
	out := map[string]*stream{}
	const page = 5000
	for from := int64(0); ; {
		recs, err := store.ReadAll(ctx, from, page)
		if err != nil {
			return nil, fmt.Errorf("check: read event store: %w", err)
		}
		for _, rec := range recs {
			from = rec.Position
			id, ok := strings.CutPrefix(rec.StreamID, "order-")
			if !ok {
				continue
			}
			s := out[id]
			if s == nil {
				s = &stream{id: id}
				out[id] = s
			}
			s.versions = append(s.versions, rec.Version)
			env, err := codec.Upcast(rec.Event)
			var e order.Event
			if err == nil {
				e, err = order.DecodeEvent(env)
			}
			if err != nil {
				e = order.Unknown{Type: rec.Event.EventType + " (undecodable: " + err.Error() + ")"}
			}
			s.events = append(s.events, e)
		}
		if len(recs) < page {
			break
		}
	}
	for _, s := range out {
		for _, e := range s.events {
			switch e := e.(type) {
			case order.Placed:
				if s.placed == nil {
					s.placed = &e
				}
				s.status = order.StatusPlaced
			case order.Paid:
				s.paid, s.status = true, order.StatusPaid
			case order.Reserved:
				s.status = order.StatusReserved
			case order.Shipped:
				s.status = order.StatusShipped
			case order.Cancelled:
				s.status, s.reason = order.StatusCancelled, e.Reason
			}
		}
	}
	return out, nil
}

func terminal(st order.Status) bool { return st == order.StatusShipped || st == order.StatusCancelled }

// checkTerminal: every accepted order exists, is terminal and, when its
// expected outcome is known, has it.
func checkTerminal(streams map[string]*stream, orders []loadgen.OrderRecord, timedOut map[string]string) Result {
	r := Result{Name: OrdersTerminal}
	if orders == nil {
		for _, id := range slices.Sorted(maps.Keys(streams)) {
			if s := streams[id]; !terminal(s.status) {
				r.fail("order %s is %s", id, s.status)
			}
		}
		r.Summary = fmt.Sprintf("%d orders in the event store (no orders file: outcomes not compared)", len(streams))
		return r.done()
	}
	seen := map[string]bool{}
	compensated := 0
	for _, o := range orders {
		if seen[o.OrderID] {
			r.fail("order %s listed twice in the orders file", o.OrderID)
			continue
		}
		seen[o.OrderID] = true
		s := streams[o.OrderID]
		switch {
		case s == nil:
			r.fail("order %s (%s) was accepted but has no events", o.OrderID, o.Path)
		case !terminal(s.status):
			r.fail("order %s (%s) is %s, not terminal", o.OrderID, o.Path, s.status)
		case o.Status != "" && (string(s.status) != o.Status || string(s.reason) != o.Reason):
			if step := timedOut[o.OrderID]; step != "" && s.status == order.StatusCancelled && s.reason != order.ReasonCustomerCancelled {
				compensated++ // a step timed out and was compensated: the saga's answer to an outage
				continue
			}
			r.fail("order %s (%s) is %s/%s, want %s/%s", o.OrderID, o.Path, s.status, s.reason, o.Status, o.Reason)
		}
	}
	r.Summary = fmt.Sprintf("%d accepted orders terminal with their path's outcome", len(orders))
	if compensated > 0 {
		r.Summary += fmt.Sprintf(" (%d of them cancelled instead: a saga step timed out and was compensated)", compensated)
	}
	return r.done()
}

// checkStreams: versions 1…n per stream; placed first, then only legal
// transitions, nothing after a terminal event.
func checkStreams(streams map[string]*stream) (Result, Result) {
	vc := Result{Name: VersionsContiguous}
	tl := Result{Name: TransitionsLegal}
	legal := map[order.Status][]order.Status{
		"":                   {order.StatusPlaced},
		order.StatusPlaced:   {order.StatusPaid, order.StatusCancelled},
		order.StatusPaid:     {order.StatusReserved, order.StatusCancelled},
		order.StatusReserved: {order.StatusShipped, order.StatusCancelled},
	}
	to := map[string]order.Status{order.TypePlaced: order.StatusPlaced, order.TypePaid: order.StatusPaid,
		order.TypeReserved: order.StatusReserved, order.TypeShipped: order.StatusShipped, order.TypeCancelled: order.StatusCancelled}
	events := 0
	for _, id := range slices.Sorted(maps.Keys(streams)) {
		s := streams[id]
		events += len(s.events)
		for i, v := range s.versions {
			if v != int64(i+1) {
				vc.fail("order %s: event %d has version %d (versions %v)", id, i+1, v, s.versions)
				break
			}
		}
		var st order.Status
		var path []string
		for _, e := range s.events {
			path = append(path, e.EventType())
		}
		for _, e := range s.events {
			next, ok := to[e.EventType()]
			if !ok {
				tl.fail("order %s: unknown event %s in %v", id, e.EventType(), path)
				break
			}
			if !slices.Contains(legal[st], next) {
				from := string(st)
				if from == "" {
					from = "(new)"
				}
				tl.fail("order %s: %s → %s is not legal (events %v)", id, from, next, path)
				break
			}
			st = next
		}
	}
	vc.Summary = fmt.Sprintf("%d order streams, %d events", len(streams), events)
	tl.Summary = "placed → paid → reserved → shipped, cancelled from any non-terminal status"
	return vc.done(), tl.done()
}

// checkStock: per product, initial = the catalog's stock, available +
// reserved = initial, reserved = the quantities held by reservations, and
// reservations are held by shipped orders only (the stock they consumed),
// matching the quantities of the shipped orders.
func checkStock(ctx context.Context, db *sqldb.DB, cat *catalog.Catalog, streams map[string]*stream) (Result, error) {
	r := Result{Name: StockConserved}
	held := map[string]int64{}
	rows, err := db.Read.QueryContext(ctx, `SELECT order_id, items FROM inventory_orders WHERE status = 'reserved'`)
	if err != nil {
		return r, fmt.Errorf("check: inventory reservations: %w", err)
	}
	for rows.Next() {
		var id string
		var items *string
		if err := rows.Scan(&id, &items); err != nil {
			rows.Close()
			return r, err
		}
		var lines []schema.Line
		if items != nil {
			if err := json.Unmarshal([]byte(*items), &lines); err != nil {
				r.fail("reservation of order %s: items %q: %v", id, *items, err)
			}
		}
		for _, l := range lines {
			held[l.ProductID] += int64(l.Quantity)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	shipped := map[string]int64{}
	for _, s := range streams {
		if s.status == order.StatusShipped && s.placed != nil {
			for _, it := range s.placed.Items {
				shipped[it.ProductID] += int64(it.Quantity)
			}
		}
	}
	stock := map[string][3]int64{}
	rows, err = db.Read.QueryContext(ctx, `SELECT product_id, initial, available, reserved FROM inventory_stock`)
	if err != nil {
		return r, fmt.Errorf("check: inventory stock: %w", err)
	}
	for rows.Next() {
		var id string
		var v [3]int64
		if err := rows.Scan(&id, &v[0], &v[1], &v[2]); err != nil {
			rows.Close()
			return r, err
		}
		stock[id] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, err
	}
	products := 0
	for _, p := range cat.Products() {
		products++
		v, ok := stock[p.ID]
		if !ok {
			r.fail("%s: no stock row", p.ID)
			continue
		}
		initial, avail, reserved := v[0], v[1], v[2]
		switch {
		case initial != p.Stock:
			r.fail("%s: initial %d, catalog %d", p.ID, initial, p.Stock)
		case avail+reserved != initial:
			r.fail("%s: available %d + reserved %d = %d, initial %d", p.ID, avail, reserved, avail+reserved, initial)
		case reserved != held[p.ID]:
			r.fail("%s: reserved %d, reservations hold %d", p.ID, reserved, held[p.ID])
		case reserved != shipped[p.ID]:
			r.fail("%s: reserved (consumed) %d, shipped orders hold %d", p.ID, reserved, shipped[p.ID])
		}
	}
	r.Summary = fmt.Sprintf("%d products: available + reserved/shipped = initial", products)
	return r.done(), nil
}
