package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// poisonedOrder places an order of case c under orchestration straight in
// DATA-DIR/order.db (before `up` runs) and rewrites the payment.process
// command waiting in the outbox to an event version the payment service
// does not know, so that its consumer dead-letters it. It returns the
// order.
func poisonedOrder(t *testing.T, dir string, c sagaCase) placedOrder {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "order.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := ordersvc.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	svc, err := ordersvc.New(db, catalog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if _, err := svc.Orchestrate(ordersaga.Config{}); err != nil {
		t.Fatal(err)
	}
	var req ordersvc.PlaceRequest
	if err := json.Unmarshal([]byte(orderBodyFor(c, "u-stuck")), &req); err != nil {
		t.Fatal(err)
	}
	res, err := svc.Place(ctx, req, "")
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sqldb.Tx) error {
		var id int64
		var value []byte
		if err := tx.QueryRowContext(ctx, `SELECT id, value FROM outbox WHERE topic = $1`, kafka.TopicCommandsPayment).Scan(&id, &value); err != nil {
			return err
		}
		var env map[string]any
		if err := json.Unmarshal(value, &env); err != nil {
			return err
		}
		env["version"] = 99
		b, err := json.Marshal(env)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET value = $1 WHERE id = $2`, b, id)
		return err
	})
	if err != nil {
		t.Fatalf("poison the payment command: %v", err)
	}
	return placedOrder{OrderID: res.OrderID, CorrelationID: res.CorrelationID, c: c}
}

// TestDeadLetteredCommandMakesSagaStuck: under orchestration a command the
// participant dead-letters (here payment.process in a version the payment
// service does not know) makes its saga stuck at once — visible in GET
// /v1/sagas?status=stuck with the letter in its reason and a "stuck"
// history entry in the action phase — and, once the letter is discarded,
// POST retry re-sends the action (built afresh, so valid), after which the
// order ships.
func TestDeadLetteredCommandMakesSagaStuck(t *testing.T) {
	dir := t.TempDir()
	c := sagaCases[0] // success
	o := poisonedOrder(t, dir, c)
	// The step timeout is far away: only the dead letter can make it stuck.
	r := startUp(t, dir, "--saga", SagaOrchestration, "--saga-step-timeout", "10m")
	base := "http://" + r.rt.HTTPAddr

	var stuck httpapi.SagaView
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var list httpapi.SagaList
		if code := call(t, "GET", base+"/v1/sagas?status=stuck", "", nil, &list); code != http.StatusOK {
			t.Fatalf("GET /v1/sagas?status=stuck: %d", code)
		}
		if len(list.Sagas) > 0 {
			if len(list.Sagas) != 1 || list.Sagas[0].ID != o.OrderID {
				t.Fatalf("stuck sagas %+v; want only %s", list.Sagas, o.OrderID)
			}
			stuck = list.Sagas[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the saga of the dead-lettered command never became stuck")
		}
	}
	if !stuck.Stuck || stuck.Step != 0 || !strings.Contains(stuck.Reason, "dead-lettered by payment-service") ||
		!strings.Contains(stuck.Reason, "unknown-version") {
		t.Fatalf("stuck saga %+v; want stuck at step 0, its reason naming the letter", stuck)
	}
	var view httpapi.SagaView
	call(t, "GET", base+"/v1/sagas/"+o.OrderID, "", nil, &view)
	var entry *httpapi.SagaHistoryEntry
	for i, e := range view.History {
		if e.Event == saga.EventStuck {
			entry = &view.History[i]
		}
	}
	if entry == nil || entry.Phase != saga.PhaseAction || entry.StepName != ordersaga.StepPayment {
		t.Fatalf("history %+v; want a stuck entry of the payment action", view.History)
	}
	var ord orderState
	call(t, "GET", base+"/v1/orders/"+o.OrderID, "", nil, &ord)
	if ord.Status != "placed" {
		t.Fatalf("order status %q while its saga is stuck, want placed", ord.Status)
	}

	// The fix: the letter's cause cannot be repaired, so the operator
	// discards it (which also releases the order's key, parked behind the
	// letter) and retries the saga, which builds the command afresh.
	_, rest, _ := strings.Cut(stuck.Reason, "letter ")
	letter, _, _ := strings.Cut(rest, ")")
	if code := call(t, "POST", base+"/v1/dlq/"+url.PathEscape(letter)+"/discard", `{"reason": "v99 is a bad build; the saga re-sends it"}`, nil, nil); code != http.StatusOK {
		t.Fatalf("discard %q: %d", letter, code)
	}
	var after httpapi.SagaView
	if code := call(t, "POST", base+"/v1/sagas/"+o.OrderID+"/retry", `{"reason": "payment command fixed"}`, nil, &after); code != http.StatusOK {
		t.Fatalf("retry: %d %+v", code, after)
	}
	if after.Status != saga.StatusRunning || after.Step != 0 || after.Attempt != 1 {
		t.Fatalf("after retry: %s at step %d attempt %d; want running at step 0, attempt 1", after.Status, after.Step, after.Attempt)
	}
	svc := openServices(t, dir)
	waitSettled(t, SagaOrchestration, base, svc, []placedOrder{o})
	if n := count(t, svc.payment, `SELECT COUNT(*) FROM payment_ledger WHERE order_id = $1 AND kind = 'capture'`, o.OrderID); n != 1 {
		t.Fatalf("%d captures, want 1", n)
	}
}
