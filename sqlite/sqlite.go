// Package sqlite opens a sqldb.DB on a SQLite file with modernc.org/sqlite
// (pure Go, no cgo), tuned for Causeway: WAL journal, one writer connection
// with IMMEDIATE transactions, a separate pool of read-only connections, and
// synchronous=NORMAL (or FULL with SyncWrites).
//
// Durability: with synchronous=NORMAL a killed process loses nothing that
// was committed; a power loss may lose the last transactions. With
// SyncWrites (synchronous=FULL) a committed transaction survives power loss.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/causeway-dev/causeway/sqldb"

	msqlite "modernc.org/sqlite"
)

type config struct {
	stmtCache   int
	syncWrites  bool
	readConns   int
	busyTimeout int
}

// Option configures Open.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// SyncWrites sets synchronous=FULL, so a committed transaction survives a
// power loss, at the price of an fsync per commit.
func SyncWrites(on bool) Option { return optionFunc(func(c *config) { c.syncWrites = on }) }

// StmtCacheSize sets how many prepared statements each connection keeps
// by text (default DefaultStmtCacheSize; 0 keeps none). See stmtcache.go.
func StmtCacheSize(n int) Option { return optionFunc(func(c *config) { c.stmtCache = max(n, 0) }) }

// ReadConns sets the size of the read pool (default: 2 × GOMAXPROCS).
func ReadConns(n int) Option { return optionFunc(func(c *config) { c.readConns = n }) }

// Open opens (creating if needed) the SQLite database at path and returns a
// DB with a single-connection write pool and a read pool. The caller runs
// migrations (DB.Migrate) and closes the DB.
func Open(ctx context.Context, path string, opts ...Option) (*sqldb.DB, error) {
	cfg := config{readConns: 2 * runtime.GOMAXPROCS(0), busyTimeout: 10000, stmtCache: DefaultStmtCacheSize}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: create dir: %w", err)
		}
	}
	sync := "NORMAL"
	if cfg.syncWrites {
		sync = "FULL"
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+sync+")")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", cfg.busyTimeout))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "cache_size(-32000)")
	q.Add("_pragma", "temp_store(MEMORY)")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = append([]string(nil), v...)
	}
	wq.Set("_txlock", "immediate")
	write, err := cfg.open("file:"+path+"?"+wq.Encode(), true)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	rq := url.Values{}
	for k, v := range q {
		rq[k] = append([]string(nil), v...)
	}
	rq.Add("_pragma", "query_only(1)")
	read, err := cfg.open("file:"+path+"?"+rq.Encode(), false)
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(cfg.readConns)
	read.SetMaxIdleConns(cfg.readConns)
	read.SetConnMaxIdleTime(0)
	read.SetConnMaxLifetime(0)
	return sqldb.New(write, read, sqldb.SQLite), nil
}

// open returns a pool of connections to dsn, each with a statement cache
// of cfg.stmtCache statements (none when 0, and no wrapper at all when
// also !write); write marks the write pool, whose transactions' statements
// run without their context's cancellation (see stmtcache.go).
func (cfg config) open(dsn string, write bool) (*sql.DB, error) {
	base, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	if cfg.stmtCache == 0 && !write {
		return sql.OpenDB(base), nil
	}
	return sql.OpenDB(cachingConnector{base: base, size: cfg.stmtCache, txNoCancel: write}), nil
}
