package saga_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/causeway-dev/causeway/event"
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

// markReplyStuck runs MarkReplyStuck in its own transaction.
func markReplyStuck(t *testing.T, db *sqldb.DB, o *saga.Orchestrator, commandID string) (bool, error) {
	t.Helper()
	var ok bool
	err := db.InTx(context.Background(), func(tx *sqldb.Tx) error {
		var err error
		ok, err = o.MarkReplyStuck(context.Background(), tx, commandID, "reply dead-lettered")
		return err
	})
	return ok, err
}

// replyLostOnReserve starts saga id and leaves it stuck on the inventory
// step's action whose reply was dead-lettered (the reservation may have
// been made); it returns that command and its reply.
func replyLostOnReserve(t *testing.T, db *sqldb.DB, o *saga.Orchestrator, id string) (sent, event.Envelope) {
	t.Helper()
	start(t, db, o, id)
	cmds := pump(t, db, o, participant{silent: map[string]bool{"inventory.reserve": true}}, 1)
	if got := types(cmds); !slices.Equal(got, []string{"payment.process", "inventory.reserve"}) {
		t.Fatalf("%s: commands %v", id, got)
	}
	// The reply to the payment step, which the saga got past: stale.
	if ok, err := markReplyStuck(t, db, o, cmds[0].Env.EventID); ok || err != nil {
		t.Fatalf("%s: MarkReplyStuck of a stale command = %v, %v; want a no-op", id, ok, err)
	}
	if ok, err := markReplyStuck(t, db, o, cmds[1].Env.EventID); !ok || err != nil {
		t.Fatalf("%s: MarkReplyStuck = %v, %v; want true", id, ok, err)
	}
	if ok, err := markReplyStuck(t, db, o, cmds[1].Env.EventID); ok || err != nil {
		t.Fatalf("%s: second MarkReplyStuck = %v, %v; want a no-op", id, ok, err)
	}
	st := get(t, o, id)
	if st.Status != saga.StatusFailed || st.Reason != "reply dead-lettered" || !st.Deadline.IsZero() {
		t.Fatalf("%s: %s %q deadline %v; want failed, the reason, no deadline", id, st.Status, st.Reason, st.Deadline)
	}
	var stuck []saga.HistoryEntry
	for _, e := range st.History {
		if e.Event == saga.EventStuck || e.Event == saga.EventStuckReply {
			stuck = append(stuck, e)
		}
	}
	if len(stuck) != 1 || stuck[0].Event != saga.EventStuckReply || stuck[0].Phase != saga.PhaseAction ||
		stuck[0].StepName != "inventory" || stuck[0].CommandID != cmds[1].Env.EventID {
		t.Fatalf("%s: stuck entries %+v; want one stuck-reply, inventory action, its command", id, stuck)
	}
	r, ok := participant{}.reply(t, cmds[1].Env)
	if !ok {
		t.Fatal("no reply built")
	}
	return cmds[1], r
}

func TestMarkReplyStuckThenOperate(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		o := newOrch(t, db, newClock())
		if _, err := markReplyStuck(t, db, o, "never-sent"); !errors.Is(err, saga.ErrNotFound) {
			t.Fatalf("MarkReplyStuck of an unknown command: %v, want ErrNotFound", err)
		}

		// The dead-lettered reply replayed once fixed: the saga moves on.
		_, r := replyLostOnReserve(t, db, o, "r-replay")
		if !deliver(t, db, o, r) {
			t.Fatal("the replayed reply to the action the saga is stuck on was ignored")
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"shipping.create"}) {
			t.Fatalf("after the replayed reply: commands %v", got)
		}
		if st := get(t, o, "r-replay"); st.Status != saga.StatusCompleted || st.Reason != "" {
			t.Fatalf("after the replayed reply: %s (%q), want completed", st.Status, st.Reason)
		}

		// Retry re-sends the same step's action; its (new) reply completes
		// the saga.
		reserve, _ := replyLostOnReserve(t, db, o, "r-retry")
		if _, err := o.Operate(ctx, saga.ActionRetry, "r-retry", "alice", "orchestrator fixed"); err != nil {
			t.Fatal(err)
		}
		cmds := pump(t, db, o, participant{}, 1)
		if got := types(cmds); !slices.Equal(got, []string{"inventory.reserve", "shipping.create"}) {
			t.Fatalf("after retry: commands %v", got)
		}
		if cmds[0].Key != reserve.Key {
			t.Fatalf("retried command key %q, want %q (the participant dedups by order)", cmds[0].Key, reserve.Key)
		}
		if st := get(t, o, "r-retry"); st.Status != saga.StatusCompleted {
			t.Fatalf("after retry: %s, want completed", st.Status)
		}

		// Skip cannot assume the action took no effect: the step itself is
		// compensated too, unlike a dead-lettered command (TestMarkStuckThenOperate).
		replyLostOnReserve(t, db, o, "r-skip")
		if _, err := o.Operate(ctx, saga.ActionSkip, "r-skip", "alice", "give up"); err != nil {
			t.Fatal(err)
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"inventory.release", "payment.refund"}) {
			t.Fatalf("after skip: commands %v", got)
		}
		if st := get(t, o, "r-skip"); st.Status != saga.StatusCompensated {
			t.Fatalf("after skip: %s, want compensated", st.Status)
		}

		// Compensate undoes the stuck step and the ones before it.
		replyLostOnReserve(t, db, o, "r-comp")
		if _, err := o.Operate(ctx, saga.ActionCompensate, "r-comp", "alice", "abort"); err != nil {
			t.Fatal(err)
		}
		if got := types(pump(t, db, o, participant{}, 1)); !slices.Equal(got, []string{"inventory.release", "payment.refund"}) {
			t.Fatalf("after compensate: commands %v", got)
		}
		if st := get(t, o, "r-comp"); st.Status != saga.StatusCompensated {
			t.Fatalf("after compensate: %s, want compensated", st.Status)
		}

		// A lost reply to a compensation: stuck on the compensation; the
		// replayed reply goes on compensating.
		start(t, db, o, "r-refund")
		cmds = pump(t, db, o, participant{fail: map[string]bool{"inventory.reserve": true},
			silent: map[string]bool{"payment.refund": true}}, 1)
		if got := types(cmds); !slices.Equal(got, []string{"payment.process", "inventory.reserve", "payment.refund"}) {
			t.Fatalf("r-refund: commands %v", got)
		}
		if ok, err := markReplyStuck(t, db, o, cmds[2].Env.EventID); !ok || err != nil {
			t.Fatalf("r-refund: MarkReplyStuck = %v, %v", ok, err)
		}
		st := get(t, o, "r-refund")
		if last := st.History[len(st.History)-1]; st.Status != saga.StatusFailed || last.Event != saga.EventStuckReply ||
			last.Phase != saga.PhaseCompensation {
			t.Fatalf("r-refund: %s, last entry %+v; want failed, stuck-reply on the compensation", st.Status, last)
		}
		if _, err := o.Operate(ctx, saga.ActionCompensate, "r-refund", "alice", "x"); !errors.Is(err, saga.ErrInvalidState) {
			t.Fatalf("compensate a saga stuck on a compensation: %v, want ErrInvalidState", err)
		}
		refunded, _ := participant{}.reply(t, cmds[2].Env)
		if !deliver(t, db, o, refunded) {
			t.Fatal("r-refund: the replayed compensation reply was ignored")
		}
		if st := get(t, o, "r-refund"); st.Status != saga.StatusCompensated {
			t.Fatalf("r-refund: %s after the replayed reply, want compensated", st.Status)
		}
	})
}
