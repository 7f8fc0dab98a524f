package saga_test

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func count(t *testing.T, db *sqldb.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestPruneFinishedSagas: completed and compensated sagas older than the
// cut are deleted with their commands and history; a saga still running is
// kept whole; a late reply to a pruned saga's command is ignored.
func TestPruneFinishedSagas(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, migs...)
		clk := newClock()
		o := newOrch(t, db, clk)
		ctx := context.Background()

		start(t, db, o, "o-ok")
		okCmds := pump(t, db, o, participant{}, 1)
		start(t, db, o, "o-comp")
		pump(t, db, o, participant{fail: map[string]bool{"inventory.reserve": true}}, 1)
		start(t, db, o, "o-run")
		pump(t, db, o, participant{silent: map[string]bool{"payment.process": true}}, 1)
		if st := get(t, o, "o-run"); st.Status != saga.StatusRunning {
			t.Fatalf("o-run is %s, want running", st.Status)
		}

		// Nothing finished before the cut: nothing goes.
		if n, err := o.Prune(ctx, clk.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("Prune before everything: %d, %v", n, err)
		}
		clk.Advance(time.Hour)
		n, err := o.Prune(ctx, clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("pruned %d sagas, want 2 (completed, compensated)", n)
		}
		for _, id := range []string{"o-ok", "o-comp"} {
			for _, q := range []string{
				`SELECT COUNT(*) FROM saga_instances WHERE id = $1`,
				`SELECT COUNT(*) FROM saga_commands WHERE saga_id = $1`,
				`SELECT COUNT(*) FROM saga_history WHERE saga_id = $1`,
			} {
				if c := count(t, db, q, id); c != 0 {
					t.Errorf("%s: %q = %d after prune, want 0", id, q, c)
				}
			}
		}
		if st := get(t, o, "o-run"); st.Status != saga.StatusRunning || len(st.History) == 0 {
			t.Errorf("o-run after prune: %s with %d history entries, want running with its history", st.Status, len(st.History))
		}
		if c := count(t, db, `SELECT COUNT(*) FROM saga_commands WHERE saga_id = $1`, "o-run"); c != 1 {
			t.Errorf("o-run commands = %d, want 1", c)
		}
		// A reply that comes late for a pruned saga changes nothing.
		late, ok := participant{}.reply(t, okCmds[0].Env)
		if !ok {
			t.Fatal("no reply built")
		}
		if deliver(t, db, o, late) {
			t.Error("a reply to a pruned saga's command was handled")
		}
		if c := count(t, db, `SELECT COUNT(*) FROM saga_instances`); c != 1 {
			t.Errorf("saga_instances = %d after the late reply, want 1", c)
		}
	})
}
