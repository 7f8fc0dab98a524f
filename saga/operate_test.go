package saga_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func TestParseStatusStuckIsFailed(t *testing.T) {
	for in, want := range map[string]saga.Status{"stuck": saga.StatusFailed, "Failed": saga.StatusFailed, "running": saga.StatusRunning, "": ""} {
		if got, err := saga.ParseStatus(in); err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := saga.ParseStatus("bogus"); !errors.Is(err, saga.ErrInvalidArgument) {
		t.Errorf("ParseStatus(bogus) err = %v", err)
	}
	if _, err := saga.ParseAction("rewind"); !errors.Is(err, saga.ErrInvalidArgument) {
		t.Errorf("ParseAction(rewind) err = %v", err)
	}
}

func TestOperateRecordsOperatorAndReason(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		o := newOrch(t, db, newClock())
		start(t, db, o, "o-1")
		pump(t, db, o, participant{fail: map[string]bool{"shipping.create": true, "inventory.release": true}}, 1)
		stuck, err := o.List(ctx, saga.ListOptions{Status: saga.StatusFailed})
		if err != nil || len(stuck) != 1 || stuck[0].ID != "o-1" {
			t.Fatalf("stuck sagas = %v, %v; want o-1", stuck, err)
		}
		if _, err := o.Operate(ctx, saga.ActionSkip, "o-1", "alice", " "); !errors.Is(err, saga.ErrReasonRequired) {
			t.Fatalf("no reason: %v, want ErrReasonRequired", err)
		}
		if _, err := o.Operate(ctx, saga.ActionCompensate, "o-1", "alice", "r"); !errors.Is(err, saga.ErrInvalidState) {
			t.Fatalf("compensate a stuck saga: %v, want ErrInvalidState", err)
		}
		if _, err := o.Operate(ctx, saga.ActionRetry, "nope", "alice", "r"); !errors.Is(err, saga.ErrNotFound) {
			t.Fatalf("unknown saga: %v, want ErrNotFound", err)
		}
		st, err := o.Operate(ctx, saga.ActionSkip, "o-1", "alice", "released by hand")
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != saga.StatusCompensating {
			t.Fatalf("status after skip = %s, want compensating", st.Status)
		}
		var found bool
		for _, e := range st.History {
			if e.Event == saga.EventOperator && strings.Contains(e.Reason, "skip: released by hand (by alice)") {
				found = true
			}
		}
		if !found {
			t.Fatalf("no audited operator entry in %v", events(st))
		}
		pump(t, db, o, participant{}, 1)
		if st := get(t, o, "o-1"); st.Status != saga.StatusCompensated {
			t.Fatalf("after skip and pump: %s, want compensated", st.Status)
		}
	})
}
