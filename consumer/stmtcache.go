package consumer

import (
	"context"
	"database/sql"

	"github.com/causeway-dev/causeway/sqldb"
)

// Exec runs q with args in tx (tx.ExecContext). Handlers may call either:
// on SQLite the connection keeps every statement it prepared, by text
// (package sqlite's statement cache), so a statement run for every record
// is parsed once per connection, not once per record; pgx does the same
// on PostgreSQL.
func Exec(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, q, args...)
}

// Query runs the query q with args in tx (tx.QueryContext); see Exec.
func Query(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(ctx, q, args...)
}
