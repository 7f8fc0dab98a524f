package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/postgres"
	"github.com/causeway-dev/causeway/sqldb"
)

// TestSessionLocksDoNotTakeWorkConnections: with a work pool of 2
// connections, 4 holders of session locks (as 4 projection runners of one
// service) still get transactions. With the locks on the work pool this
// waited forever (it hung TestServeMultiProcess).
func TestSessionLocksDoNotTakeWorkConnections(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db := openSchema(t, "locks", postgres.MaxConns(2))
	var locks []*sqldb.SessionLock
	for i := range 4 {
		l := db.SessionLock(int64(7_000_000 + i))
		ok, err := l.Ensure(ctx)
		if err != nil || !ok {
			t.Fatalf("lock %d: held %v, err %v", i, ok, err)
		}
		locks = append(locks, l)
	}
	defer func() {
		for _, l := range locks {
			l.Release()
		}
	}()
	for i := range 4 {
		if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT 1`)
			return err
		}); err != nil {
			t.Fatalf("transaction %d with 4 locks held: %v", i, err)
		}
	}
	// A second holder of the same key is refused while the first leads.
	other := db.SessionLock(7_000_000)
	if ok, err := other.Ensure(ctx); err != nil || ok {
		t.Fatalf("second holder of a held lock: held %v, err %v", ok, err)
	}
}
