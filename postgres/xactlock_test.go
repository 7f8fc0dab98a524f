package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/postgres"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// openSchema opens a schema of its own (t_PREFIX_random) on the test
// cluster, with opts, dropped when the test ends.
func openSchema(t *testing.T, prefix string, opts ...postgres.Option) *sqldb.DB {
	t.Helper()
	url := sqltest.PostgresURL(t)
	schema := fmt.Sprintf("t_%s_%d", prefix, time.Now().UnixNano()%1e9)
	db, err := postgres.Open(context.Background(), url, schema, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Write.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		_ = db.Close()
	})
	return db
}

// TestTxLockSerialises: a second transaction taking the same lock waits
// until the first commits; taking it twice in one transaction does not
// wait.
func TestTxLockSerialises(t *testing.T) {
	db := openSchema(t, "xlock")
	ctx := context.Background()
	first, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Rollback()
	for range 2 {
		if err := first.Lock(ctx, "hot"); err != nil {
			t.Fatal(err)
		}
	}
	// Another name is free.
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return tx.Lock(ctx, "other") }); err != nil {
		t.Fatal(err)
	}
	// The same name waits: bounded by a short context, it fails.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err = db.InTx(short, func(tx *sqldb.Tx) error { return tx.Lock(short, "hot") })
	cancel()
	if err == nil {
		t.Fatal("a second transaction took a held lock")
	}
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.InTx(ctx, func(tx *sqldb.Tx) error { return tx.Lock(ctx, "hot") }); err != nil {
		t.Fatalf("after the holder committed: %v", err)
	}
}

// TestIsConflictOnARealDeadlock makes two transactions lock two rows in
// opposite orders: PostgreSQL aborts one, and IsConflict recognises it.
func TestIsConflictOnARealDeadlock(t *testing.T) {
	db := openSchema(t, "deadlock")
	ctx := context.Background()
	if _, err := db.Write.ExecContext(ctx, `CREATE TABLE r (id INT PRIMARY KEY, n INT); INSERT INTO r VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	ready := make(chan struct{}, 2)
	for i, order := range [][2]int{{1, 2}, {2, 1}} {
		wg.Go(func() {
			errs[i] = db.InTx(ctx, func(tx *sqldb.Tx) error {
				if _, err := tx.ExecContext(ctx, `UPDATE r SET n = n + 1 WHERE id = $1`, order[0]); err != nil {
					return err
				}
				ready <- struct{}{}
				for len(ready) < 2 && ctx.Err() == nil {
					time.Sleep(5 * time.Millisecond)
				}
				_, err := tx.ExecContext(ctx, `UPDATE r SET n = n + 1 WHERE id = $1`, order[1])
				return err
			})
		})
	}
	wg.Wait()
	conflicts := 0
	for _, err := range errs {
		if sqldb.IsConflict(err) {
			conflicts++
		} else if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
	}
	if conflicts != 1 {
		t.Fatalf("conflicts = %d (errors %v), want exactly one deadlock victim", conflicts, errs)
	}
	if sqldb.IsConflict(errors.New("deadlock")) || sqldb.IsConflict(nil) {
		t.Error("IsConflict is true for an error without SQLSTATE 40P01/40001")
	}
}
