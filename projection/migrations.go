package projection

import (
	"embed"

	"github.com/causeway-dev/causeway/sqldb"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// Migrations returns the runner's own tables (component "projection") for
// sqldb.DB.Migrate, on SQLite and PostgreSQL: projection_state (one row per
// projection: the generation of its live tables), projection_checkpoints
// (the next offset per projection, topic and partition) and
// projection_errors (events that could not be decoded or applied) and
// projection_parked (events parked under ParkKey). The
// projections' tables are created by their Schema.Setup, not here.
func Migrations() []sqldb.Migration {
	return sqldb.MustMigrationsFS(sqlFS, "sql", "projection")
}
