// Package sqldb is the database handle every SQL-backed Causeway component
// shares: a write pool and a read pool over database/sql, the SQL dialect,
// transactions with commit hooks, an in-process notifier, and a runner for
// embedded, versioned migrations.
//
// The same SQL runs on SQLite (modernc.org/sqlite) and PostgreSQL
// (pgx/v5 through its database/sql driver): placeholders are always $1, $2,
// …, which both drivers accept. Where the databases differ, code switches on
// DB.Dialect.
package sqldb
