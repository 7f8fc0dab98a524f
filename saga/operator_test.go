package saga_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func TestOperatorActions(t *testing.T) {
	type op func(o *saga.Orchestrator, ctx context.Context, tx *sqldb.Tx, id, reason string) error
	compensate := (*saga.Orchestrator).Compensate
	retry := (*saga.Orchestrator).Retry
	skip := (*saga.Orchestrator).Skip
	tests := []struct {
		name string
		// setup brings saga o-1 to the state the operation acts on.
		setup  participant
		stuck  bool // make o-1 stuck on inventory.release first
		op     op
		then   participant
		want   []string // commands after the operation
		status saga.Status
		err    error
	}{
		{name: "compensate a running saga (customer cancel)",
			setup: participant{silent: map[string]bool{"shipping.create": true}}, op: compensate,
			want: []string{"shipping.cancel", "inventory.release", "payment.refund"}, status: saga.StatusCompensated},
		{name: "compensate a completed saga is refused",
			op: compensate, err: saga.ErrInvalidState, status: saga.StatusCompleted},
		{name: "retry a stuck compensation", stuck: true, op: retry,
			want: []string{"inventory.release", "payment.refund"}, status: saga.StatusCompensated},
		{name: "skip a stuck compensation", stuck: true, op: skip,
			want: []string{"payment.refund"}, status: saga.StatusCompensated},
		{name: "retry a running saga is refused",
			setup: participant{silent: map[string]bool{"payment.process": true}}, op: retry,
			err: saga.ErrInvalidState, status: saga.StatusRunning},
	}
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				db := open(t, migs...)
				o := newOrch(t, db, newClock())
				start(t, db, o, "o-1")
				setup := tc.setup
				if tc.stuck {
					setup = participant{fail: map[string]bool{"shipping.create": true, "inventory.release": true}}
				}
				pump(t, db, o, setup, 1)
				if tc.stuck {
					if st := get(t, o, "o-1"); st.Status != saga.StatusFailed || st.Step != 1 {
						t.Fatalf("setup: %s step %d, want failed at step 1", st.Status, st.Step)
					}
				}
				err := db.InTx(ctx, func(tx *sqldb.Tx) error { return tc.op(o, ctx, tx, "o-1", "by test") })
				if !errors.Is(err, tc.err) {
					t.Fatalf("operation: %v, want %v", err, tc.err)
				}
				got := types(pump(t, db, o, tc.then, 1))
				if !slices.Equal(got, tc.want) {
					t.Fatalf("commands = %v, want %v", got, tc.want)
				}
				st := get(t, o, "o-1")
				if st.Status != tc.status {
					t.Fatalf("status = %s, want %s", st.Status, tc.status)
				}
				if tc.err == nil && !slices.ContainsFunc(st.History, func(e saga.HistoryEntry) bool {
					return e.Event == saga.EventOperator && e.Reason != ""
				}) {
					t.Fatalf("no operator entry in history %v", events(st))
				}
			})
		}
	})
}

func TestListAndCounts(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, migs...)
		clk := newClock()
		o := newOrch(t, db, clk)
		for i := range 5 {
			start(t, db, o, fmt.Sprintf("o-%d", i))
			clk.Advance(time.Millisecond)
		}
		if d, err := o.NextDeadline(ctx); err != nil || !d.Equal(newClock().Now().Add(30*time.Second)) {
			t.Fatalf("NextDeadline = %v, %v", d, err)
		}
		// o-0 and o-1 fail at payment.
		for _, c := range drain(t, db) {
			p := participant{silent: map[string]bool{"payment.process": true}}
			if c.Key == "o-0" || c.Key == "o-1" {
				p = participant{fail: map[string]bool{"payment.process": true}}
			}
			if r, ok := p.reply(t, c.Env); ok {
				deliver(t, db, o, r)
			}
		}
		counts, err := o.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[saga.Status]int{saga.StatusRunning: 3, saga.StatusCompensated: 2,
			saga.StatusCompensating: 0, saga.StatusCompleted: 0, saga.StatusFailed: 0}
		if !maps.Equal(counts, want) {
			t.Fatalf("counts = %v, want %v", counts, want)
		}
		tests := []struct {
			opts saga.ListOptions
			want []string
		}{
			{saga.ListOptions{}, []string{"o-0", "o-1", "o-2", "o-3", "o-4"}},
			{saga.ListOptions{Status: saga.StatusRunning}, []string{"o-2", "o-3", "o-4"}},
			{saga.ListOptions{Status: saga.StatusRunning, After: "o-2", Limit: 1}, []string{"o-3"}},
			{saga.ListOptions{Definition: "other"}, nil},
			{saga.ListOptions{Limit: 2, After: "o-1"}, []string{"o-2", "o-3"}},
		}
		for _, tc := range tests {
			sts, err := o.List(ctx, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range sts {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.opts, got, tc.want)
			}
		}
		if _, err := o.Get(ctx, "nope"); !errors.Is(err, saga.ErrNotFound) {
			t.Fatalf("Get(nope) = %v, want ErrNotFound", err)
		}
	})
}

func TestNewValidates(t *testing.T) {
	noop := func(context.Context, *saga.State) (saga.Command, error) { return saga.Command{}, nil }
	tests := []struct {
		name  string
		defs  []saga.Definition
		wants []string // substrings of the joined error
	}{
		{"no definitions", nil, []string{"no definitions"}},
		{"empty", []saga.Definition{{}}, []string{"empty name", "has no steps"}},
		{"bad steps", []saga.Definition{{Name: "d", Steps: []saga.Step{
			{Name: "a"}, {Name: "a", Action: noop, Timeout: -1, Retries: -1}, {Action: noop}}}},
			[]string{"nil Action", "duplicate step name", "negative timeout", "negative retries", "step 2: empty name"}},
		{"duplicate definitions", []saga.Definition{orderDef(), orderDef()}, []string{"duplicate definition name"}},
	}
	db := sqltest.SQLite(t, migs...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := saga.New(db, tc.defs)
			if !errors.Is(err, saga.ErrInvalidDefinition) {
				t.Fatalf("New: %v, want ErrInvalidDefinition", err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	ctx := context.Background()
	o := newOrch(t, db, newClock())
	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		_, err := o.Start(ctx, tx, "nope", "s", "c", "", nil)
		return err
	})
	if !errors.Is(err, saga.ErrUnknownDefinition) {
		t.Fatalf("Start(unknown definition) = %v", err)
	}
}

// A failing Action fails its step: the saga compensates what came before
// and OnTransition sees every step of it, in the same transaction.
func TestActionErrorAndOnTransition(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, migs...)
		def := orderDef()
		def.Steps[1].Action = func(context.Context, *saga.State) (saga.Command, error) {
			return saga.Command{}, errors.New("no warehouse")
		}
		var seen []string
		def.OnTransition = func(_ context.Context, tx *sqldb.Tx, s *saga.State, e saga.HistoryEntry) error {
			if tx == nil {
				return errors.New("no tx")
			}
			seen = append(seen, e.StepName+":"+e.Event+"/"+string(s.Status))
			return nil
		}
		o := newOrch(t, db, newClock(), def)
		start(t, db, o, "o-1")
		if got, want := types(pump(t, db, o, participant{}, 1)), []string{"payment.process", "payment.refund"}; !slices.Equal(got, want) {
			t.Fatalf("commands = %v, want %v", got, want)
		}
		st := get(t, o, "o-1")
		if st.Status != saga.StatusCompensated || !strings.Contains(st.Reason, "no warehouse") {
			t.Fatalf("state = %s %q", st.Status, st.Reason)
		}
		want := []string{"payment:started/running", "payment:sent/running",
			"payment:succeeded/compensating", "inventory:failed/compensating", "payment:sent/compensating",
			"payment:succeeded/compensated", ":compensated/compensated"}
		if !slices.Equal(seen, want) {
			t.Fatalf("OnTransition saw %v\nwant             %v", seen, want)
		}
	})
}

// A saga whose definition lost the step it waits on gives an error (the
// consumer adapter dead-letters it), never a panic.
func TestDefinitionLostSteps(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t, migs...)
	o := newOrch(t, db, newClock())
	start(t, db, o, "o-1")
	pump(t, db, o, participant{silent: map[string]bool{"shipping.create": true}}, 1)
	short := orderDef()
	short.Steps = short.Steps[:2]
	o2 := newOrch(t, db, newClock(), short)
	err := db.InTx(ctx, func(tx *sqldb.Tx) error { return o2.Compensate(ctx, tx, "o-1", "x") })
	if !errors.Is(err, saga.ErrUnknownDefinition) {
		t.Fatalf("Compensate = %v, want ErrUnknownDefinition", err)
	}
}
