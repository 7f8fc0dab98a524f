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

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// placeOffline places an order of case c under orchestration straight in
// DATA-DIR/order.db (before `up` runs): its saga's first command waits in
// the outbox.
func placeOffline(t *testing.T, dir string, c sagaCase) placedOrder {
	t.Helper()
	ctx := context.Background()
	db := openSQLite(t, filepath.Join(dir, "order.db"))
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
	return placedOrder{OrderID: res.OrderID, CorrelationID: res.CorrelationID, c: c}
}

// poisonOutbox rewrites the one record for topic waiting in the outbox of
// the service database at path to an event version no consumer knows, so
// that its consumer dead-letters it (its headers stay as they were).
func poisonOutbox(t *testing.T, path, topic string) {
	t.Helper()
	ctx := context.Background()
	db := openSQLite(t, path)
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		var id int64
		var value []byte
		if err := tx.QueryRowContext(ctx, `SELECT id, value FROM outbox WHERE topic = $1`, topic).Scan(&id, &value); err != nil {
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
		t.Fatalf("poison the %s record in %s: %v", topic, path, err)
	}
}

// poisonedOrder places an order of case c offline (placeOffline) and
// poisons the payment.process command waiting in its outbox, so that the
// payment service dead-letters it. It returns the order.
func poisonedOrder(t *testing.T, dir string, c sagaCase) placedOrder {
	t.Helper()
	o := placeOffline(t, dir, c)
	poisonOutbox(t, filepath.Join(dir, "order.db"), kafka.TopicCommandsPayment)
	return o
}

// waitStuck waits for saga id to be the one stuck saga listed by GET
// /v1/sagas?status=stuck and returns it.
func waitStuck(t *testing.T, base, id string) httpapi.SagaView {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var list httpapi.SagaList
		if code := call(t, "GET", base+"/v1/sagas?status=stuck", "", nil, &list); code != http.StatusOK {
			t.Fatalf("GET /v1/sagas?status=stuck: %d", code)
		}
		if len(list.Sagas) > 0 {
			if len(list.Sagas) != 1 || list.Sagas[0].ID != id {
				t.Fatalf("stuck sagas %+v; want only %s", list.Sagas, id)
			}
			return list.Sagas[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("saga %s never became stuck", id)
		}
	}
}

// discardLetterOf discards the dead letter named in stuck saga s's reason
// ("… letter ID): …"), which also releases the order's key parked behind
// it.
func discardLetterOf(t *testing.T, base string, s httpapi.SagaView, reason string) {
	t.Helper()
	_, rest, _ := strings.Cut(s.Reason, "letter ")
	letter, _, _ := strings.Cut(rest, ")")
	if code := call(t, "POST", base+"/v1/dlq/"+url.PathEscape(letter)+"/discard", `{"reason": "`+reason+`"}`, nil, nil); code != http.StatusOK {
		t.Fatalf("discard %q: %d", letter, code)
	}
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

	stuck := waitStuck(t, base, o.OrderID)
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
	discardLetterOf(t, base, stuck, "v99 is a bad build; the saga re-sends it")
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

// paidOffline takes order o's payment.process command out of the order
// outbox and handles it in DATA-DIR/payment.db as the payment service
// would under orchestration, before `up` runs: the card is charged and the reply waits in the
// payment outbox.
func paidOffline(t *testing.T, dir string, o placedOrder) {
	t.Helper()
	ctx := context.Background()
	orderDB := openSQLite(t, filepath.Join(dir, "order.db"))
	var value []byte
	err := orderDB.InTx(ctx, func(tx *sqldb.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id, value FROM outbox WHERE topic = $1`, kafka.TopicCommandsPayment).Scan(&id, &value); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = $1`, id)
		return err
	})
	if err != nil {
		t.Fatalf("take the payment command: %v", err)
	}
	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	env, err := codec.Decode(value)
	if err != nil {
		t.Fatal(err)
	}
	payDB := openSQLite(t, filepath.Join(dir, "payment.db"))
	if err := payment.Migrate(ctx, payDB); err != nil {
		t.Fatal(err)
	}
	h := payment.NewCommandHandler(codec, nil)
	err = payDB.InTx(ctx, func(tx *sqldb.Tx) error {
		return h.Handle(ctx, tx, &consumer.Message{Envelope: env, Topic: kafka.TopicCommandsPayment, Key: o.OrderID, Attempt: 1, Value: value})
	})
	if err != nil {
		t.Fatalf("handle the payment command offline: %v", err)
	}
}

// TestDeadLetteredReplyMakesSagaStuck: under orchestration a reply the
// orchestrator dead-letters (here the payment service's reply in a
// version it does not know) makes the saga stuck at once, with a
// "stuck-reply" history entry in the action phase and a reason saying the
// action may have taken effect — the card was charged, though the order
// is still placed. Once the letter is discarded, POST retry re-sends the
// action; the payment service answers from the charge it made, so the
// order ships with exactly one capture.
func TestDeadLetteredReplyMakesSagaStuck(t *testing.T) {
	dir := t.TempDir()
	o := placeOffline(t, dir, sagaCases[0]) // success
	paidOffline(t, dir, o)
	poisonOutbox(t, filepath.Join(dir, "payment.db"), kafka.TopicSagaReplies)
	// The step timeout is far away: only the dead letter can make it stuck.
	r := startUp(t, dir, "--saga", SagaOrchestration, "--saga-step-timeout", "10m")
	base := "http://" + r.rt.HTTPAddr

	stuck := waitStuck(t, base, o.OrderID)
	if !stuck.Stuck || stuck.Step != 0 || !strings.Contains(stuck.Reason, "reply dead-lettered by "+ordersvc.OrchestratorGroup) ||
		!strings.Contains(stuck.Reason, "unknown-version") || !strings.Contains(stuck.Reason, "may have taken effect") {
		t.Fatalf("stuck saga %+v; want stuck at step 0, its reason naming the letter and the unknown effect", stuck)
	}
	var view httpapi.SagaView
	call(t, "GET", base+"/v1/sagas/"+o.OrderID, "", nil, &view)
	var entry *httpapi.SagaHistoryEntry
	for i, e := range view.History {
		if e.Event == saga.EventStuck || e.Event == saga.EventStuckReply {
			entry = &view.History[i]
		}
	}
	if entry == nil || entry.Event != saga.EventStuckReply || entry.Phase != saga.PhaseAction || entry.StepName != ordersaga.StepPayment {
		t.Fatalf("history %+v; want a stuck-reply entry of the payment action", view.History)
	}
	var ord orderState
	call(t, "GET", base+"/v1/orders/"+o.OrderID, "", nil, &ord)
	if ord.Status != "placed" {
		t.Fatalf("order status %q while its saga is stuck, want placed", ord.Status)
	}
	svc := openServices(t, dir)
	if n := count(t, svc.payment, `SELECT COUNT(*) FROM payment_ledger WHERE order_id = $1 AND kind = 'capture'`, o.OrderID); n != 1 {
		t.Fatalf("%d captures while stuck, want 1 (the action took effect)", n)
	}

	discardLetterOf(t, base, stuck, "v99 is a bad build; retry asks again")
	var after httpapi.SagaView
	if code := call(t, "POST", base+"/v1/sagas/"+o.OrderID+"/retry", `{"reason": "ask payment again"}`, nil, &after); code != http.StatusOK {
		t.Fatalf("retry: %d %+v", code, after)
	}
	if after.Status != saga.StatusRunning || after.Step != 0 {
		t.Fatalf("after retry: %s at step %d; want running at step 0", after.Status, after.Step)
	}
	waitSettled(t, SagaOrchestration, base, svc, []placedOrder{o})
	if n := count(t, svc.payment, `SELECT COUNT(*) FROM payment_ledger WHERE order_id = $1 AND kind = 'capture'`, o.OrderID); n != 1 {
		t.Fatalf("%d captures after the retry, want 1 (the resent action must not charge again)", n)
	}
}
