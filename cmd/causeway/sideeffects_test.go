package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/sqlite"
)

// sideEffectTables are the services' effects a replay must not repeat:
// charges and refunds, mail, stock reservations.
var sideEffectTables = map[string][]string{
	"payment":   {"payments", "payment_ledger"},
	"email":     {"email_orders", "email_messages", "email_unsent"},
	"inventory": {"inventory_stock", "inventory_orders"},
}

// sideEffects dumps every side-effect table of causeway up in dir.
func sideEffects(t *testing.T, dir string) map[string][][]any {
	t.Helper()
	out := map[string][][]any{}
	for svc, tables := range sideEffectTables {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, svc+".db"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tbl := range tables {
			out[svc+"."+tbl] = rsDump(t, db, `SELECT * FROM `+tbl+` ORDER BY 1, 2`)
		}
		_ = db.Close()
	}
	return out
}

// TestReplaysHaveNoSideEffects: rebuilding the read model (from the topics
// and from the event store) and replaying a dead letter of the email
// service leave the payment ledger, the mailbox and the stock
// reservations exactly as they were, row for row.
func TestReplaysHaveNoSideEffects(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end (skipped under -short)")
	}
	dir := t.TempDir()
	up := startUp(t, dir)
	base := "http://" + up.rt.HTTPAddr
	var placed []rsPlaced
	for i := range 10 {
		p, ok := rsPlace(t, base, i)
		if !ok {
			t.FailNow()
		}
		placed = append(placed, p)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("orders did not settle within 60s")
		}
		settled := 0
		for _, p := range placed {
			var st struct{ Status string }
			call(t, "GET", base+"/v1/orders/"+p.OrderID, "", nil, &st)
			if st.Status == "shipped" || st.Status == "cancelled" {
				settled++
			}
		}
		if settled == len(placed) {
			break
		}
	}

	// A letter for the email service: an order.placed it cannot read.
	bad := produceUnknownVersion(t, up.rt.KafkaAddr, "u-letter")
	common := []string{"--brokers", up.rt.KafkaAddr, "--data-dir", dir, "--timeout", "30s"}
	var letter string
	for deadline := time.Now().Add(30 * time.Second); letter == ""; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no dead letter for the email service")
		}
		out, err := runDLQ(t, append([]string{"list", "--group", "email-service", "--output", "json"}, common...)...)
		if err != nil {
			continue
		}
		var ls []dlq.Letter
		if json.Unmarshal([]byte(out), &ls) == nil {
			for _, l := range ls {
				if strings.Contains(string(l.Value), bad.EventID) || l.Key == "u-letter" {
					letter = l.ID
				}
			}
		}
	}
	rsSteadyEnds(t, up.rt.KafkaAddr)
	before := sideEffects(t, dir)
	var rows int
	for _, v := range before {
		rows += len(v)
	}
	if len(before["payment.payments"]) == 0 || len(before["email.email_messages"]) == 0 || len(before["inventory.inventory_orders"]) == 0 {
		t.Fatalf("no side effects to compare: %v", func() map[string]int {
			m := map[string]int{}
			for k, v := range before {
				m[k] = len(v)
			}
			return m
		}())
	}

	for _, args := range [][]string{
		{readmodel.OrderViewName},
		{readmodel.UserOrdersName, "--from", "eventstore"},
		{readmodel.ProductSalesName},
	} {
		if out, err := rebuild(t, dir, up.rt.KafkaAddr, args...); err != nil {
			t.Fatalf("rebuild %v: %v\n%s", args, err, out)
		}
	}
	if out, err := runDLQ(t, append([]string{"replay", letter, "--operator", "test", "--reason", "side effects"}, common...)...); err != nil {
		t.Fatalf("replay: %v\n%s", err, out)
	}
	// The replayed letter reaches the email service (and only it) and
	// fails again: the letter occurs a second time.
	var last string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replayed letter was not handled again:\n%s", last)
		}
		out, err := runDLQ(t, append([]string{"list", "--group", "email-service", "--output", "json"}, common...)...)
		if err != nil {
			continue
		}
		var ls []dlq.Letter
		if json.Unmarshal([]byte(out), &ls) == nil && len(ls) == 1 && ls[0].ID == letter && ls[0].Occurrences >= 2 {
			break
		}
		last = out
	}
	rsSteadyEnds(t, up.rt.KafkaAddr)
	after := sideEffects(t, dir)
	for k, want := range before {
		if got := after[k]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed: %d rows before, %d after", k, len(want), len(got))
		}
	}
	t.Logf("%d side-effect rows unchanged over %d tables", rows, len(before))
}

// rebuild runs `causeway projections rebuild ARGS…` against up in dir.
func rebuild(t *testing.T, dir, brokers string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"projections", "rebuild", "--data-dir", dir, "--brokers", brokers, "--timeout", "2m"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}
