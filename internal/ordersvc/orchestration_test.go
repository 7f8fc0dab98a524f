package ordersvc_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// orchestrated returns an order service running the order saga with a
// one-minute step timeout on a fake clock.
func orchestrated(t *testing.T, open opener) (*ordersvc.Service, *saga.Orchestrator, *sqldb.DB, *fakeClock) {
	t.Helper()
	svc, db := newService(t, open)
	clk := &fakeClock{t: time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)}
	o, err := svc.Orchestrate(ordersaga.Config{StepTimeout: time.Minute}, saga.WithClock(clk))
	if err != nil {
		t.Fatalf("Orchestrate: %v", err)
	}
	return svc, o, db, clk
}

// commands returns the commands in the outbox, oldest first.
func commands(t *testing.T, db *sqldb.DB) []event.Envelope {
	t.Helper()
	var out []event.Envelope
	for _, r := range outboxRows(t, db) {
		if !strings.HasPrefix(r.Topic, "commands.") {
			continue
		}
		var env event.Envelope
		if err := json.Unmarshal(r.Value, &env); err != nil {
			t.Fatal(err)
		}
		if want, _ := schema.CommandTopic(env.EventType); want != r.Topic {
			t.Errorf("%s on topic %s, want %s", env.EventType, r.Topic, want)
		}
		out = append(out, env)
	}
	return out
}

// orderEvents returns the order's events on the orders topic (outbox).
func orderEvents(t *testing.T, db *sqldb.DB) []event.Envelope {
	t.Helper()
	var out []event.Envelope
	for _, r := range outboxRows(t, db) {
		if r.Topic != kafka.TopicOrders {
			continue
		}
		var env event.Envelope
		if err := json.Unmarshal(r.Value, &env); err != nil {
			t.Fatal(err)
		}
		out = append(out, env)
	}
	return out
}

func answer(t *testing.T, db *sqldb.DB, o *saga.Orchestrator, cmd event.Envelope, outcome saga.Outcome, reason string, result any) {
	t.Helper()
	reply, err := saga.NewReply(cmd, "test-participant", outcome, reason, result)
	if err != nil {
		t.Fatal(err)
	}
	var handled bool
	if err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		handled, err = o.HandleReply(context.Background(), tx, reply)
		return err
	}); err != nil || !handled {
		t.Fatalf("reply to %s: handled %v, %v", cmd.EventType, handled, err)
	}
}

func types(envs []event.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.EventType
	}
	return out
}

func causeOf(t *testing.T, cmd event.Envelope) schema.Cause {
	t.Helper()
	var d struct{ Cause schema.Cause }
	if err := cmd.UnmarshalData(&d); err != nil {
		t.Fatal(err)
	}
	return d.Cause
}

// A participant that never answers: the step times out (a Tick forced
// after the fake clock passed the deadline), the saga compensates the
// timed-out step and the ones before it in reverse order, and the order is
// cancelled with the reason of the step that timed out.
func TestOrchestratedStepTimeoutCompensates(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, o, db, clk := orchestrated(t, open)
		ctx := context.Background()
		res, err := svc.Place(ctx, request("u-1"), "")
		if err != nil {
			t.Fatal(err)
		}
		cmds := commands(t, db)
		if len(cmds) != 1 || cmds[0].EventType != schema.TypePaymentProcess || cmds[0].Metadata.CorrelationID != res.CorrelationID {
			t.Fatalf("after Place: commands %v (%+v), want payment.process in the flow", types(cmds), cmds)
		}
		answer(t, db, o, cmds[0], saga.OutcomeSucceeded, "", map[string]string{"paymentId": "pay-1"})
		if v, _ := svc.Get(ctx, res.OrderID); v.Status != "paid" {
			t.Fatalf("after payment: status %s, want paid", v.Status)
		}
		// Inventory never answers. Before the deadline a tick does nothing.
		clk.Add(59 * time.Second)
		if n, err := o.Tick(ctx); n != 0 || err != nil {
			t.Fatalf("tick before the deadline: %d, %v", n, err)
		}
		clk.Add(2 * time.Second)
		if n, err := o.Tick(ctx); n != 1 || err != nil {
			t.Fatalf("tick after the deadline: %d, %v", n, err)
		}
		cmds = commands(t, db)
		want := []string{schema.TypePaymentProcess, schema.TypeInventoryReserve, schema.TypeInventoryRelease}
		if got := types(cmds); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("commands %v, want %v", got, want)
		}
		if c := causeOf(t, cmds[2]); c != schema.CauseOutOfStock {
			t.Errorf("release cause %q, want out_of_stock", c)
		}
		answer(t, db, o, cmds[2], saga.OutcomeSucceeded, "", nil)
		cmds = commands(t, db)
		if len(cmds) != 4 || cmds[3].EventType != schema.TypePaymentRefund || causeOf(t, cmds[3]) != schema.CauseOutOfStock {
			t.Fatalf("commands %v, want a payment.refund (out_of_stock) last", types(cmds))
		}
		answer(t, db, o, cmds[3], saga.OutcomeSucceeded, "", nil)

		st, err := o.Get(ctx, res.OrderID)
		if err != nil || st.Status != saga.StatusCompensated {
			t.Fatalf("saga %+v, %v; want compensated", st, err)
		}
		v, _ := svc.Get(ctx, res.OrderID)
		if v.Status != "cancelled" || v.CancellationReason != "out_of_stock" {
			t.Errorf("order %s/%s, want cancelled/out_of_stock", v.Status, v.CancellationReason)
		}
		evs := orderEvents(t, db)
		if got := strings.Join(types(evs), " "); got != "order.placed order.paid order.cancelled" {
			t.Errorf("order events %s", got)
		}
		for _, e := range evs[1:] {
			if e.Metadata.CorrelationID != res.CorrelationID || e.Metadata.CausationID == "" {
				t.Errorf("%s: metadata %+v, want the flow and a cause", e.EventType, e.Metadata)
			}
		}
		// A late reply of the timed-out reserve changes nothing.
		reply, _ := saga.NewReply(cmds[1], "test-participant", saga.OutcomeSucceeded, "", nil)
		_ = db.InTx(ctx, func(tx *sqldb.Tx) error {
			if handled, err := o.HandleReply(ctx, tx, reply); handled || err != nil {
				t.Errorf("late reply: handled %v, %v", handled, err)
			}
			return nil
		})
		if n := len(orderEvents(t, db)); n != 3 {
			t.Errorf("%d order events after a late reply, want 3", n)
		}
	})
}

// A customer's cancel of a paid order appends order.cancelled and
// compensates the saga in one transaction; the end of the compensation
// does not cancel the order twice.
func TestOrchestratedCustomerCancel(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, o, db, _ := orchestrated(t, open)
		ctx := context.Background()
		res, err := svc.Place(ctx, request("u-2"), "")
		if err != nil {
			t.Fatal(err)
		}
		answer(t, db, o, commands(t, db)[0], saga.OutcomeSucceeded, "", map[string]string{"paymentId": "pay-2"})
		if _, err := svc.Cancel(ctx, res.OrderID); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		if st, _ := o.Get(ctx, res.OrderID); st.Status != saga.StatusCompensating {
			t.Fatalf("saga %s after the cancel, want compensating", st.Status)
		}
		// Compensation from the current step (its action may be done):
		// release, then refund, both for the customer.
		for _, typ := range []string{schema.TypeInventoryRelease, schema.TypePaymentRefund} {
			cmds := commands(t, db)
			last := cmds[len(cmds)-1]
			if last.EventType != typ || causeOf(t, last) != schema.CauseCustomerCancelled {
				t.Fatalf("commands %v, want %s (customer_cancelled) last", types(cmds), typ)
			}
			answer(t, db, o, last, saga.OutcomeSucceeded, "", nil)
		}
		if st, _ := o.Get(ctx, res.OrderID); st.Status != saga.StatusCompensated {
			t.Errorf("saga %s, want compensated", st.Status)
		}
		v, _ := svc.Get(ctx, res.OrderID)
		if v.Status != "cancelled" || v.CancellationReason != "customer_cancelled" {
			t.Errorf("order %s/%s, want cancelled/customer_cancelled", v.Status, v.CancellationReason)
		}
		if got := strings.Join(types(orderEvents(t, db)), " "); got != "order.placed order.paid order.cancelled" {
			t.Errorf("order events %s", got)
		}
		if _, err := svc.Cancel(ctx, res.OrderID); err == nil {
			t.Error("a second cancel succeeded")
		}
	})
}
