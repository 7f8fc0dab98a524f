package consumer

import (
	"context"
	"database/sql"

	"github.com/causeway-dev/causeway/sqldb"
)

// stmtCache holds the statements the runner itself runs for every record
// (savepoint, release, dedup insert), prepared once per transaction instead
// of parsed once per record. It lives in the context of one lane
// transaction and is used by one goroutine.
type stmtCache struct {
	tx    *sqldb.Tx
	stmts map[string]*sql.Stmt
}

type stmtCacheKey struct{}

func withStmtCache(ctx context.Context, tx *sqldb.Tx) context.Context {
	return context.WithValue(ctx, stmtCacheKey{}, &stmtCache{tx: tx, stmts: make(map[string]*sql.Stmt)})
}

// execCached runs q on tx, through the context's statement cache when it
// belongs to tx.
func execCached(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (sql.Result, error) {
	c, _ := ctx.Value(stmtCacheKey{}).(*stmtCache)
	if c == nil || c.tx != tx {
		return tx.ExecContext(ctx, q, args...)
	}
	st, ok := c.stmts[q]
	if !ok {
		var err error
		if st, err = tx.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		c.stmts[q] = st
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
