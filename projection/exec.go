package projection

import (
	"context"
	"database/sql"

	"github.com/causeway-dev/causeway/sqldb"
)

// stmtCache holds the statements prepared in one batch transaction, so
// that an Apply running the same SQL for every event parses it once per
// batch instead of once per event. Used by one goroutine.
type stmtCache struct {
	tx    *sqldb.Tx
	stmts map[string]*sql.Stmt
}

type stmtCacheKey struct{}

func withStmtCache(ctx context.Context, tx *sqldb.Tx) context.Context {
	return context.WithValue(ctx, stmtCacheKey{}, &stmtCache{tx: tx, stmts: make(map[string]*sql.Stmt)})
}

// Exec runs q with args in tx. Inside Apply, with the ctx and tx it was
// given, it prepares q once per batch transaction and reuses it for the
// batch's other events; elsewhere it is tx.ExecContext.
func Exec(ctx context.Context, tx *sqldb.Tx, q string, args ...any) (sql.Result, error) {
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
