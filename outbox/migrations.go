package outbox

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
		panic("outbox: missing embedded migration " + name)
	}
	return string(b)
}

// Migrations returns the outbox table's schema changes (component "outbox")
// for sqldb.DB.Migrate, for both SQLite and PostgreSQL.
func Migrations() []sqldb.Migration {
	return []sqldb.Migration{{
		Component: "outbox",
		Version:   1,
		SQLite:    mustSQL("0001_outbox.sqlite.sql"),
		Postgres:  mustSQL("0001_outbox.postgres.sql"),
	}}
}
