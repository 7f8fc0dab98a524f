package projection

import (
	"context"
	"database/sql"

	"github.com/causeway-dev/causeway/sqldb"
)

// Exec runs q with args in tx (tx.ExecContext). Apply may call either: on
// SQLite the connection keeps every statement it prepared, by text
// (package sqlite's statement cache), so a statement run for every event
// is parsed once per connection; pgx does the same on PostgreSQL.
func Exec(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (sql.Result, error) {
	return tx.ExecContext(ctx, q, args...)
}
