package outbox

import (
	"embed"

	"github.com/causeway-dev/causeway/sqldb"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// Migrations returns the outbox table's schema changes (component "outbox")
// for sqldb.DB.Migrate, for both SQLite and PostgreSQL, from the embedded
// sql/ directory.
func Migrations() []sqldb.Migration { return sqldb.MustMigrationsFS(sqlFS, "sql", "outbox") }
