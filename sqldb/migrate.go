package sqldb

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"time"
)

// Migration is one forward-only schema change of one component. Components
// (eventstore, outbox, consumer, …) keep their SQL in embedded files and
// expose their migrations as a []Migration.
type Migration struct {
	// Component names the owner, e.g. "eventstore". Versions are per component.
	Component string
	// Version is 1, 2, 3, … within the component.
	Version int
	// SQLite and Postgres hold the statements for each dialect; several
	// statements may be separated by semicolons.
	SQLite   string
	Postgres string
}

// Migrate applies, in version order and each in its own transaction, every
// migration of the given sets that this database has not applied yet. It is
// safe to call from several processes at once on PostgreSQL (an advisory
// lock serialises them) and idempotent.
func (db *DB) Migrate(ctx context.Context, sets ...[]Migration) error {
	create := `CREATE TABLE IF NOT EXISTS schema_migrations (
		component TEXT NOT NULL,
		version INTEGER NOT NULL,
		applied_at TEXT NOT NULL,
		PRIMARY KEY (component, version))`
	var all []Migration
	for _, s := range sets {
		all = append(all, s...)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Component != all[j].Component {
			return all[i].Component < all[j].Component
		}
		return all[i].Version < all[j].Version
	})
	return db.InTx(ctx, func(tx *Tx) error {
		if db.Dialect == Postgres {
			h := fnv.New64a()
			_, _ = h.Write([]byte("causeway-migrate:" + db.Schema))
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
				return fmt.Errorf("sqldb: migrate lock: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, create); err != nil {
			return fmt.Errorf("sqldb: create schema_migrations: %w", err)
		}
		for _, m := range all {
			var n int
			if err := tx.QueryRowContext(ctx,
				`SELECT COUNT(*) FROM schema_migrations WHERE component = $1 AND version = $2`,
				m.Component, m.Version).Scan(&n); err != nil {
				return fmt.Errorf("sqldb: read schema_migrations: %w", err)
			}
			if n > 0 {
				continue
			}
			stmt := m.SQLite
			if db.Dialect == Postgres {
				stmt = m.Postgres
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("sqldb: migration %s/%d: %w", m.Component, m.Version, err)
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO schema_migrations (component, version, applied_at) VALUES ($1, $2, $3)`,
				m.Component, m.Version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
				return fmt.Errorf("sqldb: record migration %s/%d: %w", m.Component, m.Version, err)
			}
		}
		return nil
	})
}
