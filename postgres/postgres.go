// Package postgres opens a sqldb.DB on PostgreSQL through pgx/v5's
// database/sql driver, confined to one schema per service (created if
// missing and set as the search_path of every connection).
package postgres

import (
	"context"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/causeway-dev/causeway/sqldb"
)

type config struct {
	maxConns int
}

// Option configures Open.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// MaxConns bounds the connection pool (default 16).
func MaxConns(n int) Option { return optionFunc(func(c *config) { c.maxConns = n }) }

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the PostgreSQL server at url (a postgres:// URL or a
// key=value DSN), creates schema if needed and returns a DB whose
// connections all use it as their search_path. An empty schema means
// "public".
func Open(ctx context.Context, url, schema string, opts ...Option) (*sqldb.DB, error) {
	cfg := config{maxConns: 16}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if schema == "" {
		schema = "public"
	}
	if !schemaRE.MatchString(schema) {
		return nil, fmt.Errorf("postgres: invalid schema name %q", schema)
	}
	pcfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse url: %w", err)
	}
	// Create the schema once, on a plain connection.
	conn, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	_, err = conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
	_ = conn.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: create schema %s: %w", schema, err)
	}
	if pcfg.RuntimeParams == nil {
		pcfg.RuntimeParams = map[string]string{}
	}
	pcfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*pcfg)
	db.SetMaxOpenConns(cfg.maxConns)
	db.SetMaxIdleConns(cfg.maxConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("postgres: ping: %w", err)
	}
	out := sqldb.New(db, db, sqldb.Postgres)
	out.Schema = schema
	// Session locks (leader election of relays and projection runners)
	// hold a connection each for as long as they lead: on a pool of their
	// own, unbounded (one per lock), never on the work pool.
	out.Locks = stdlib.OpenDB(*pcfg)
	out.Locks.SetMaxIdleConns(2)
	return out, nil
}
