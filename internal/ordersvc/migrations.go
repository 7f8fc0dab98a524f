package ordersvc

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// Component is the migration component name of the order service's own
// tables.
const Component = "ordersvc"

//go:embed sql/0001_idempotency.sql
var idempotencySQL string

//go:embed sql/0002_saga_early.sqlite.sql
var earlySQLite string

//go:embed sql/0002_saga_early.postgres.sql
var earlyPostgres string

// Migrations returns the order service's own schema changes (component
// "ordersvc"): the idempotency table and the saga consumer's table of
// early events (early.go).
func Migrations() []sqldb.Migration {
	return []sqldb.Migration{
		{Component: Component, Version: 1, SQLite: idempotencySQL, Postgres: idempotencySQL},
		{Component: Component, Version: 2, SQLite: earlySQLite, Postgres: earlyPostgres},
	}
}

// Migrate applies every migration the order database needs: the event
// store's, the outbox's, the saga consumer's, the saga orchestrator's
// (used under --saga=orchestration) and the service's own. It is
// idempotent.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if err := db.Migrate(ctx, sqlstore.Migrations(), outbox.Migrations(), consumer.Migrations(), saga.Migrations(), Migrations()); err != nil {
		return fmt.Errorf("ordersvc: migrate: %w", err)
	}
	return nil
}
