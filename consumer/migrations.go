package consumer

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
		panic("consumer: missing embedded migration " + name)
	}
	return string(b)
}

// Migrations returns the consumer's schema changes (component "consumer")
// for sqldb.DB.Migrate, for both SQLite and PostgreSQL: the processed-event
// table used for dedup, and the parked keys and parked records tables.
func Migrations() []sqldb.Migration {
	return []sqldb.Migration{{
		Component: "consumer",
		Version:   1,
		SQLite:    mustSQL("0001_consumer.sqlite.sql"),
		Postgres:  mustSQL("0001_consumer.postgres.sql"),
	}}
}
