package consumer

import (
	"context"
	"database/sql"

	"github.com/causeway-dev/causeway/sqldb"
)

// stmtCache holds the statements the runner itself runs in every batch
// transaction (park check, dedup inserts, savepoints) and those handlers
// run through Exec, prepared once per transaction instead of parsed once
// per record. It lives in the context of one batch transaction and is used
// by one goroutine.
type stmtCache struct {
	tx    *sqldb.Tx
	stmts map[string]*sql.Stmt
}

type stmtCacheKey struct{}

func withStmtCache(ctx context.Context, tx *sqldb.Tx) context.Context {
	return context.WithValue(ctx, stmtCacheKey{}, &stmtCache{tx: tx, stmts: make(map[string]*sql.Stmt)})
}

// prepared returns q prepared on tx through the context's statement
// cache, or nil when ctx has no cache for tx.
func prepared(ctx context.Context, tx *sqldb.Tx, q string) (*sql.Stmt, error) {
	c, _ := ctx.Value(stmtCacheKey{}).(*stmtCache)
	if c == nil || c.tx != tx {
		return nil, nil
	}
	st, ok := c.stmts[q]
	if !ok {
		var err error
		if st, err = tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		c.stmts[q] = st
	}
	return st, nil
}

// queryCached runs the query q on tx, through the context's statement
// cache when it belongs to tx.
func queryCached(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (*sql.Rows, error) {
	st, err := prepared(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// execCached runs q on tx, through the context's statement cache when it
// belongs to tx.
func execCached(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (sql.Result, error) {
	st, err := prepared(ctx, tx, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return tx.ExecContext(ctx, q, args...)
	}
	return st.ExecContext(ctx, args...)
}

// Exec runs q with args in tx. Inside a Handler called by the runner it
// goes through the lane transaction's statement cache, so a statement a
// handler runs for every record is prepared once per batch rather than
// parsed once per record; elsewhere it is tx.ExecContext.
func Exec(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (sql.Result, error) {
	return execCached(ctx, tx, q, args...)
}

// Query runs the query q with args in tx, like Exec: through the lane
// transaction's statement cache inside a Handler called by the runner,
// tx.QueryContext elsewhere.
func Query(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (*sql.Rows, error) {
	return queryCached(ctx, tx, q, args...)
}
