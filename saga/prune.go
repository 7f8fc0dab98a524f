package saga

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
)

// pruneBatch bounds the sagas one Prune transaction deletes.
const pruneBatch = 500

// Prune deletes the sagas that finished (completed or compensated) before
// before, with their commands and history, in transactions of at most 500
// sagas, and returns how many it deleted. Failed (stuck) sagas are kept:
// they wait for an operator. A reply that still arrives for a pruned
// saga's command is ignored like any reply to an unknown command, so
// pruning is safe once before is older than the topics' retention (no
// reply can be read any more) — the caller picks that window (causeway
// up and serve use the dedup pruning window, which is checked against
// topic retention).
func (o *Orchestrator) Prune(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		var n int
		err := o.db.InTx(ctx, func(tx *sqldb.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM saga_instances WHERE status IN ($1, $2) AND updated_at < $3
				ORDER BY updated_at LIMIT `+strconv.Itoa(pruneBatch), string(StatusCompleted), string(StatusCompensated), before.UnixMicro())
			if err != nil {
				return err
			}
			var ids []any
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			if len(ids) == 0 {
				return nil
			}
			in := placeholders(len(ids))
			for _, q := range []string{
				`DELETE FROM saga_commands WHERE saga_id IN (` + in + `)`,
				`DELETE FROM saga_history WHERE saga_id IN (` + in + `)`,
				`DELETE FROM saga_instances WHERE id IN (` + in + `)`,
			} {
				if _, err := tx.ExecContext(ctx, q, ids...); err != nil {
					return err
				}
			}
			n = len(ids)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("saga: prune: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// placeholders returns "$1, $2, …, $n".
func placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}
