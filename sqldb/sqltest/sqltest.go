// Package sqltest opens real databases for tests: a SQLite file in the
// test's temp dir, or a fresh schema on the PostgreSQL cluster named by
// CAUSEWAY_TEST_POSTGRES_URL (which `make test` starts).
//
// Without that variable a PostgreSQL test is skipped, naming what is
// missing, except when CI=true: then it fails, so CI can never pass without
// having run the PostgreSQL tests.
package sqltest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/postgres"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// EnvPostgresURL names the variable holding the test cluster's URL.
const EnvPostgresURL = "CAUSEWAY_TEST_POSTGRES_URL"

var schemaSeq atomic.Int64

// SQLite opens a new SQLite database in t.TempDir, applies migs and closes
// it when the test ends.
func SQLite(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("sqltest: open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(ctx, migs...); err != nil {
		t.Fatalf("sqltest: migrate sqlite: %v", err)
	}
	return db
}

// PostgresURL returns the test cluster's URL, skipping the test when there
// is none (failing it when CI=true).
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvPostgresURL)
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sqltest: %s is not set under CI=true: PostgreSQL tests must run (make test starts a cluster)", EnvPostgresURL)
		}
		t.Skipf("sqltest: PostgreSQL not available: set %s (make test starts a throwaway cluster)", EnvPostgresURL)
	}
	return url
}

// Postgres opens a fresh, uniquely named schema on the test cluster,
// applies migs, and drops the schema when the test ends.
func Postgres(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB {
	t.Helper()
	url := PostgresURL(t)
	ctx := context.Background()
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, name)
	if len(name) > 30 {
		name = name[:30]
	}
	schema := fmt.Sprintf("t_%s_%d_%d", name, time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	db, err := postgres.Open(ctx, url, schema)
	if err != nil {
		t.Fatalf("sqltest: open postgres: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Write.ExecContext(context.Background(), `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
		_ = db.Close()
	})
	if err := db.Migrate(ctx, migs...); err != nil {
		t.Fatalf("sqltest: migrate postgres: %v", err)
	}
	return db
}

// Each runs fn once per database, as subtests "sqlite" and "postgres".
func Each(t *testing.T, fn func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres) })
}

// Rows runs q on db's read pool and returns the column names and every
// row's values as the driver gives them, failing t on any error.
func Rows(t testing.TB, db *sqldb.DB, q string, args ...any) (cols []string, out [][]any) {
	t.Helper()
	rows, err := db.Read.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if cols, err = rows.Columns(); err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, out
}
