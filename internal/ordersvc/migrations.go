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

// Migrations returns the order service's own schema changes (component
// "ordersvc"): the idempotency table. The same SQL runs on SQLite and
// PostgreSQL.
func Migrations() []sqldb.Migration {
	return []sqldb.Migration{{Component: Component, Version: 1, SQLite: idempotencySQL, Postgres: idempotencySQL}}
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
