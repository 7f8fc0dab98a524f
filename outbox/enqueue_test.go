package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestEnqueueDeferredOrder: the rows a transaction enqueues in many calls
// (as a consumer batch's handlers do) are written at the commit in the
// order of the calls, ids ascending, in every chunk size; those of a
// savepoint rolled back are not written.
func TestEnqueueDeferredOrder(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open openFunc) {
		ctx := context.Background()
		db := open(t, outbox.Migrations())
		rolledBack := errors.New("rolled back")
		var want []string
		err := db.InTx(ctx, func(tx *sqldb.Tx) error {
			seq := 0
			// 1 + 3 + … calls: 587 rows in all, a mix of every chunk size.
			for call := 0; seq < 580; call++ {
				var msgs []outbox.Message
				for range 1 + call*3 {
					msgs = append(msgs, msg("t", fmt.Sprint("k", seq%7), seq))
					want = append(want, fmt.Sprintf("k%d/%d", seq%7, seq))
					seq++
				}
				if err := outbox.Enqueue(ctx, tx, msgs...); err != nil {
					return err
				}
				if call == 3 {
					ferr, err := tx.Savepoint(ctx, "test_record", func() error {
						if err := outbox.Enqueue(ctx, tx, msg("t", "dropped", -1)); err != nil {
							return err
						}
						return rolledBack
					})
					if !errors.Is(ferr, rolledBack) || err != nil {
						return fmt.Errorf("savepoint: %v, %v", ferr, err)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Read.QueryContext(ctx, `SELECT key, value FROM outbox ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var k string
			var v []byte
			if err := rows.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			got = append(got, string(v))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d rows, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("row %d (by id) = %s, want %s: the enqueue order is lost", i, got[i], want[i])
			}
		}
	})
}
