package sqldb_test

import (
	"context"
	"errors"
	"testing"

	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

var testMigs = []sqldb.Migration{
	{Component: "t", Version: 1,
		SQLite:   `CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL); CREATE INDEX kv_v ON kv (v)`,
		Postgres: `CREATE TABLE kv (k TEXT PRIMARY KEY, v BIGINT NOT NULL); CREATE INDEX kv_v ON kv (v)`},
	{Component: "t", Version: 2,
		SQLite:   `ALTER TABLE kv ADD COLUMN note TEXT`,
		Postgres: `ALTER TABLE kv ADD COLUMN note TEXT`},
}

func TestMigrateAndTx(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(testing.TB, ...[]sqldb.Migration) *sqldb.DB) {
		ctx := context.Background()
		db := open(t, testMigs)
		// Migrating again is a no-op.
		if err := db.Migrate(ctx, testMigs); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		hooked := 0
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			tx.OnCommit(func() { hooked++ })
			_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v, note) VALUES ($1, $2, $3)`, "a", 1, "x")
			return err
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if hooked != 1 {
			t.Fatalf("commit hook ran %d times, want 1", hooked)
		}
		boom := errors.New("boom")
		err = db.InTx(ctx, func(tx *sqldb.Tx) error {
			tx.OnCommit(func() { hooked++ })
			if _, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES ($1, $2)`, "b", 2); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v, want boom", err)
		}
		if hooked != 1 {
			t.Fatalf("hook ran after rollback")
		}
		var n int
		if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if got, want := n, 1; got != want {
			t.Fatalf("rows = %d, want %d (rollback must discard)", got, want)
		}
	})
}

func TestNotify(t *testing.T) {
	db := sqltest.SQLite(t)
	db.Notify("x")
	db.Notify("x")
	select {
	case <-db.Notified("x"):
	default:
		t.Fatal("no signal after Notify")
	}
	select {
	case <-db.Notified("x"):
		t.Fatal("signals must coalesce")
	default:
	}
}
