package sqldb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// addTo is a Flusher that adds the int items to row k of kv in one write.
func addTo(k string) sqldb.Flusher {
	return func(ctx context.Context, tx *sqldb.Tx, items []any) error {
		var sum int
		for _, it := range items {
			sum += it.(int)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = kv.v + excluded.v`, k, sum)
		return err
	}
}

func value(t *testing.T, db *sqldb.DB, k string) int {
	t.Helper()
	var v int
	if err := db.Read.QueryRowContext(context.Background(), `SELECT v FROM kv WHERE k = $1`, k).Scan(&v); err != nil {
		t.Fatalf("read %s: %v", k, err)
	}
	return v
}

// TestDeferAndSavepoint: deferred items are written once, at commit, in
// one flush per key; those of work rolled back to a savepoint, and the
// commit hooks registered there, are dropped; a rolled-back transaction
// writes none; a failing flush fails the commit and nothing of the
// transaction stays.
func TestDeferAndSavepoint(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, testMigs)
		flushes, hooks := 0, 0
		counted := func(f sqldb.Flusher) sqldb.Flusher {
			return func(ctx context.Context, tx *sqldb.Tx, items []any) error { flushes++; return f(ctx, tx, items) }
		}
		boom := errors.New("boom")
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			for i := 1; i <= 3; i++ {
				tx.Defer("a", i, counted(addTo("a")))
			}
			tx.Defer("b", 10, counted(addTo("b")))
			ferr, err := tx.Savepoint(ctx, "sp", func() error {
				tx.Defer("a", 100, counted(addTo("a")))
				tx.OnCommit(func() { hooks++ })
				return boom
			})
			if !errors.Is(ferr, boom) || err != nil {
				t.Errorf("Savepoint = %v, %v; want boom, nil", ferr, err)
			}
			if _, err := tx.Savepoint(ctx, "sp", func() error { tx.Defer("a", 1000, nil); return nil }); err != nil {
				return err
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if got := value(t, db, "a"); got != 1006 {
			t.Errorf("a = %d, want 1+2+3+1000 (the rolled-back 100 dropped)", got)
		}
		if got := value(t, db, "b"); got != 10 {
			t.Errorf("b = %d, want 10", got)
		}
		if flushes != 2 || hooks != 0 {
			t.Errorf("%d flushes and %d hooks ran, want one flush per key and no hook of the rolled-back savepoint", flushes, hooks)
		}
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error { tx.Defer("a", 5, addTo("a")); return boom }); !errors.Is(err, boom) {
			t.Fatalf("InTx = %v, want boom", err)
		}
		failing := func(context.Context, *sqldb.Tx, []any) error { return boom }
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			tx.OnCommit(func() { hooks++ })
			tx.Defer("a", 7, addTo("a"))
			tx.Defer("z", 1, failing)
			return nil
		})
		if !errors.Is(err, boom) {
			t.Fatalf("commit with a failing flush = %v, want boom", err)
		}
		if got := value(t, db, "a"); got != 1006 || hooks != 0 {
			t.Errorf("after a rollback and a failed flush: a = %d, %d hooks ran; want 1006 and none", got, hooks)
		}
	})
}
