package order_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestRepositoryOnSQLite runs the repository on the real SQL event store,
// with outbox rows, snapshots and racing writers.
func TestRepositoryOnSQLite(t *testing.T) {
	ctx := context.Background()
	db := sqltest.SQLite(t, sqlstore.Migrations(), outbox.Migrations())
	var mu sync.Mutex
	outboxed := 0
	repo := order.NewRepository(sqlstore.New(db), order.SnapshotEvery(3),
		order.WithOutbox(func(_ context.Context, o *order.Order, evs []event.Envelope) ([]outbox.Message, error) {
			mu.Lock()
			outboxed += len(evs)
			mu.Unlock()
			msgs := make([]outbox.Message, len(evs))
			for i, e := range evs {
				msgs[i] = outbox.Message{Topic: "orders", Key: o.UserID, Value: []byte(e.EventID)}
			}
			return msgs, nil
		}))
	create(t, repo, "o-1")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			_, err := repo.Update(ctx, "o-1", md, func(o *order.Order) error {
				var err error
				switch {
				case o.Status == order.StatusPlaced:
					_, err = o.MarkPaid(fmt.Sprint("pay-", w), at(1))
				case o.Status == order.StatusPaid:
					_, err = o.MarkReserved("", at(2))
				case o.Status == order.StatusReserved:
					_, err = o.MarkShipped("UPS", "1Z", at(3))
				}
				return err
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	o, err := repo.Load(ctx, "o-1")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if o.Status != order.StatusShipped || o.Version != 4 {
		t.Errorf("after 8 racing writers: got %s at version %d, want shipped at 4", o.Status, o.Version)
	}
	if outboxed < 4 {
		t.Errorf("outbox func saw %d events, want at least the 4 appended", outboxed)
	}
	past, err := repo.LoadAt(ctx, "o-1", at(1))
	if err != nil || past.Status != order.StatusPaid {
		t.Errorf("LoadAt(paid time): got %+v, %v, want paid", past, err)
	}
	var rows int
	if err := db.Read.QueryRowContext(ctx, `SELECT count(*) FROM outbox`).Scan(&rows); err != nil {
		t.Fatalf("count outbox rows: %v", err)
	}
	if rows != 4 {
		t.Errorf("outbox rows: got %d, want 4 (one per appended event)", rows)
	}
}
