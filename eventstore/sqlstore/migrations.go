package sqlstore

import (
	"embed"

	"github.com/causeway-dev/causeway/sqldb"
)

//go:embed sql/*.sql
var sqlFS embed.FS

// Component is the migration component name of the event store.
const Component = "eventstore"

func mustSQL(name string) string {
	b, err := sqlFS.ReadFile("sql/" + name)
	if err != nil {
		// The files are embedded at build time; a missing one is a build bug.
		panic("sqlstore: missing embedded migration " + name)
	}
	return string(b)
}

// Migrations returns the event store's schema changes (component
// "eventstore") for sqldb.DB.Migrate, for both SQLite and PostgreSQL.
func Migrations() []sqldb.Migration {
	return []sqldb.Migration{{
		Component: Component,
		Version:   1,
		SQLite:    mustSQL("0001_eventstore.sqlite.sql"),
		Postgres:  mustSQL("0001_eventstore.postgres.sql"),
	}, {
		Component: Component,
		Version:   2,
		SQLite:    mustSQL("0002_eventstore.sqlite.sql"),
		Postgres:  mustSQL("0002_eventstore.postgres.sql"),
	}, {
		Component: Component,
		Version:   3,
		SQLite:    mustSQL("0003_eventstore.sqlite.sql"),
		Postgres:  mustSQL("0003_eventstore.postgres.sql"),
	}}
}
