package saga

import (
	"embed"

	"github.com/causeway-dev/causeway/sqldb"
)

//go:embed sql/*.sql
var sqlFS embed.FS

func mustSQL(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name)
	if err != nil {
		// The files are embedded at build time; a missing one is a build bug.
		panic("saga: missing embedded migration " + name)
	}
	return string(b)
}

// Migrations returns the orchestrator's schema changes (component "saga")
// for sqldb.DB.Migrate, for both SQLite and PostgreSQL: saga_instances,
// saga_commands (indexed by saga for Prune) and saga_history. The orchestrator also writes to the
// outbox table, so apply outbox.Migrations too.
func Migrations() []sqldb.Migration {
	return []sqldb.Migration{{
		Component: "saga",
		Version:   1,
		SQLite:    mustSQL("0001_saga.sqlite.sql"),
		Postgres:  mustSQL("0001_saga.postgres.sql"),
	}, {
		Component: "saga",
		Version:   2,
		SQLite:    mustSQL("0002_prune.sqlite.sql"),
		Postgres:  mustSQL("0002_prune.postgres.sql"),
	}}
}
