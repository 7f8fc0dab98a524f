package saga_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// markStuck runs MarkStuck in its own transaction.
func markStuck(t *testing.T, db *sqldb.DB, o *saga.Orchestrator, id string, step int, phase saga.Phase) (bool, error) {
	t.Helper()
	var ok bool
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		var err error
		ok, err = o.MarkStuck(context.Background(), tx, id, step, phase, "command dead-lettered")
		return err
	})
	return ok, err
}

// stuckOnReserve starts saga id and leaves it stuck on the inventory
// step's action (its command dead-lettered: no reply); it returns that
// command.
func stuckOnReserve(t *testing.T, db *sqldb.DB, o *saga.Orchestrator, id string) sent {
	t.Helper()
	start(t, db, o, id)
	cmds := pump(t, db, o, participant{silent: map[string]bool{"inventory.reserve": true}}, 1)
	if got := types(cmds); !slices.Equal(got, []string{"payment.process", "inventory.reserve"}) {
		t.Fatalf("%s: commands %v", id, got)
	}
	for _, c := range []struct {
		step  int
		phase saga.Phase
	}{{0, saga.PhaseAction}, {1, saga.PhaseCompensation}, {2, saga.PhaseAction}} {
		if ok, err := markStuck(t, db, o, id, c.step, c.phase); ok || err != nil {
			t.Fatalf("%s: MarkStuck of a stale step %d %s = %v, %v; want a no-op", id, c.step, c.phase, ok, err)
		}
	}
	if st := get(t, o, id); st.Status != saga.StatusRunning {
		t.Fatalf("%s: %s after stale letters, want running", id, st.Status)
	}
	if ok, err := markStuck(t, db, o, id, 1, saga.PhaseAction); !ok || err != nil {
		t.Fatalf("%s: MarkStuck = %v, %v; want true", id, ok, err)
	}
	if ok, err := markStuck(t, db, o, id, 1, saga.PhaseAction); ok || err != nil {
		t.Fatalf("%s: second MarkStuck = %v, %v; want a no-op", id, ok, err)
	}
	st := get(t, o, id)
	if st.Status != saga.StatusFailed || st.Reason != "command dead-lettered" || !st.Deadline.IsZero() {
		t.Fatalf("%s: %s %q deadline %v; want failed, the reason, no deadline", id, st.Status, st.Reason, st.Deadline)
	}
	var stuck []saga.HistoryEntry
	for _, e := range st.History {
		if e.Event == saga.EventStuck {
			stuck = append(stuck, e)
		}
	}
	if len(stuck) != 1 || stuck[0].Phase != saga.PhaseAction || stuck[0].StepName != "inventory" {
		t.Fatalf("%s: stuck entries %+v; want one, inventory action", id, stuck)
	}
	return cmds[1]
}

func TestMarkStuckThenOperate(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		o := newOrch(t, db, newClock())
		if _, err := markStuck(t, db, o, "nope", 0, saga.PhaseAction); !errors.Is(err, saga.ErrNotFound) {
			t.Fatalf("MarkStuck of an unknown saga: %v, want ErrNotFound", err)
		}

		// Retry re-sends the action; the saga completes.
		stuckOnReserve(t, db, o, "o-retry")
		st, err := o.Operate(ctx, saga.ActionRetry, "o-retry", "alice", "inventory fixed")
		if err != nil || st.Status != saga.StatusRunning || st.Step != 1 || st.Attempt != 1 {
			t.Fatalf("retry: %+v, %v; want running at step 1, attempt 1", st, err)
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"inventory.reserve", "shipping.create"}) {
			t.Fatalf("after retry: commands %v", got)
		}
		if st := get(t, o, "o-retry"); st.Status != saga.StatusCompleted {
			t.Fatalf("after retry: %s, want completed", st.Status)
		}
		if ok, err := markStuck(t, db, o, "o-retry", 1, saga.PhaseAction); ok || err != nil {
			t.Fatalf("MarkStuck of a completed saga = %v, %v; want a no-op", ok, err)
		}

		// The letter replayed once fixed: the reply to the stuck action
		// moves the saga on.
		reserve := stuckOnReserve(t, db, o, "o-replay")
		r, _ := participant{}.reply(t, reserve.Env)
		if !deliver(t, db, o, r) {
			t.Fatal("the reply to the action the saga is stuck on was ignored")
		}
		if st := get(t, o, "o-replay"); st.Status != saga.StatusRunning || st.Step != 2 || st.Reason != "" {
			t.Fatalf("after the late reply: %s at step %d (%q); want running at step 2", st.Status, st.Step, st.Reason)
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"shipping.create"}) {
			t.Fatalf("after the late reply: commands %v", got)
		}
		if st := get(t, o, "o-replay"); st.Status != saga.StatusCompleted {
			t.Fatalf("after the late reply: %s, want completed", st.Status)
		}

		// Skip abandons the action: only the steps before it are undone.
		stuckOnReserve(t, db, o, "o-skip")
		if _, err := o.Operate(ctx, saga.ActionSkip, "o-skip", "alice", "give up"); err != nil {
			t.Fatal(err)
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"payment.refund"}) {
			t.Fatalf("after skip: commands %v", got)
		}
		if st := get(t, o, "o-skip"); st.Status != saga.StatusCompensated {
			t.Fatalf("after skip: %s, want compensated", st.Status)
		}

		// Compensate undoes the stuck step too (its action may have run).
		stuckOnReserve(t, db, o, "o-comp")
		if _, err := o.Operate(ctx, saga.ActionCompensate, "o-comp", "alice", "abort"); err != nil {
			t.Fatal(err)
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"inventory.release", "payment.refund"}) {
			t.Fatalf("after compensate: commands %v", got)
		}
		if st := get(t, o, "o-comp"); st.Status != saga.StatusCompensated {
			t.Fatalf("after compensate: %s, want compensated", st.Status)
		}
	})
}
