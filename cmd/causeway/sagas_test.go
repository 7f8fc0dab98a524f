package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqlite"
)

// runSagasCLI runs `causeway sagas args…` and returns its output.
func runSagasCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"sagas"}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// TestSagasCLI: a saga stuck on the inventory compensation is listed by
// `sagas list --status stuck`, shown with its history, refused a
// compensate and a reason-less retry, and retried: the compensation is
// written to the outbox again and the operator action is in its history.
func TestSagasCLI(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "order.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ordersvc.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	data := `{"orderId":"o-1","userId":"u-1","items":[{"productId":"p-1","quantity":1}],"amountMinor":100,"currency":"USD",` +
		`"method":"card_ok","address":{"line1":"1 Main St","city":"X","postalCode":"1","country":"US"},"completed":2,"paymentId":"pay-1","reservationId":"res-1"}`
	for _, q := range []string{
		`INSERT INTO saga_instances (id, definition, correlation_id, status, step, attempt, command_id, data, deadline, reason, version, created_at, updated_at)
		 VALUES ('o-1', 'order-fulfilment', 'corr-1', 'failed', 1, 3, 'c-1', '` + data + `', NULL, 'compensation of step inventory timed out 3 times', 5, 1, 2)`,
		`INSERT INTO saga_history (saga_id, at, step, step_name, phase, event, command_id, reason)
		 VALUES ('o-1', 2, 1, 'inventory', 'compensation', 'stuck', '', 'compensation of step inventory timed out 3 times')`,
		`INSERT INTO saga_instances (id, definition, correlation_id, status, step, attempt, command_id, data, deadline, reason, version, created_at, updated_at)
		 VALUES ('o-2', 'order-fulfilment', 'corr-2', 'completed', 3, 1, 'c-2', '` + data + `', NULL, '', 9, 3, 4)`,
	} {
		if _, err := db.Write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var outboxBefore int
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&outboxBefore); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	out, err := runSagasCLI(t, "list", "--data-dir", dir, "--status", "stuck", "--output", "json")
	if err != nil {
		t.Fatalf("list: %v\n%s", err, out)
	}
	var views []httpapi.SagaView
	if err := json.Unmarshal([]byte(out), &views); err != nil || len(views) != 1 || views[0].ID != "o-1" || !views[0].Stuck {
		t.Fatalf("list --status stuck = %s (%v); want only o-1, stuck", out, err)
	}
	out, err = runSagasCLI(t, "show", "o-1", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "(stuck") || !strings.Contains(out, "inventory") {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if out, err := runSagasCLI(t, "retry", "o-1", "--data-dir", dir); err == nil {
		t.Fatalf("retry without --reason succeeded:\n%s", out)
	}
	if _, err := runSagasCLI(t, "compensate", "o-1", "--data-dir", dir, "--reason", "x"); err == nil || !strings.Contains(err.Error(), "invalid state") {
		t.Fatalf("compensate a stuck saga: %v, want invalid state", err)
	}
	if _, err := runSagasCLI(t, "show", "nope", "--data-dir", dir); err == nil {
		t.Fatal("show of an unknown saga succeeded")
	}
	out, err = runSagasCLI(t, "retry", "o-1", "--data-dir", dir, "--reason", "inventory fixed", "--output", "json")
	if err != nil {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	var v httpapi.SagaView
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Status != saga.StatusCompensating || v.Attempt != 1 {
		t.Fatalf("after retry: %s (%v); want compensating, attempt 1", out, err)
	}
	var audited bool
	for _, e := range v.History {
		audited = audited || (e.Event == saga.EventOperator && strings.HasPrefix(e.Reason, "retry: inventory fixed (by cli"))
	}
	if !audited {
		t.Fatalf("no audited operator entry in %+v", v.History)
	}
	db, err = sqlite.Open(ctx, filepath.Join(dir, "order.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var outboxAfter int
	if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&outboxAfter); err != nil {
		t.Fatal(err)
	}
	if outboxAfter != outboxBefore+1 {
		t.Fatalf("outbox rows %d → %d; want the re-sent compensation", outboxBefore, outboxAfter)
	}
	if out, err := runSagasCLI(t, "list", "--data-dir", filepath.Join(dir, "missing")); err == nil {
		t.Fatalf("list on a missing data dir succeeded:\n%s", out)
	}
}

func TestSagaStateLabelStuck(t *testing.T) {
	if got := sagaStateLabel(saga.StatusFailed); got != "stuck" {
		t.Fatalf("label of failed = %q, want stuck", got)
	}
	if got := sagaStateLabel(saga.StatusRunning); got != "running" {
		t.Fatalf("label of running = %q", got)
	}
}
