package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/sqlite"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "eventstore-example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "order.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	if err := db.Migrate(ctx, sqlstore.Migrations()); err != nil {
		fmt.Println(err)
		return
	}
	store := sqlstore.New(db)
	defer store.Close()

	placed, _ := event.New("order.placed", 2, map[string]any{"orderId": "o-1"}, event.StartFlow("order-service"))
	res, err := store.Append(ctx, "order-o-1", eventstore.NoStream, []event.Envelope{placed})
	fmt.Println(res.Version, err)

	// A retry of the same append (say, after a lost reply) is a no-op.
	again, err := store.Append(ctx, "order-o-1", eventstore.NoStream, []event.Envelope{placed})
	fmt.Println(again == res, err)

	// A writer that read an old version gets a conflict with the real one.
	paid, _ := event.New("order.paid", 1, map[string]any{"orderId": "o-1"}, event.CausedBy(placed, "order-service"))
	_, err = store.Append(ctx, "order-o-1", eventstore.NoStream, []event.Envelope{paid})
	var conflict *eventstore.ConflictError
	fmt.Println(errors.As(err, &conflict), conflict.Actual)

	recs, _ := store.Load(ctx, "order-o-1", 0)
	fmt.Println(len(recs), recs[0].Event.EventType)
	// Output:
	// 1 <nil>
	// true <nil>
	// true 1
	// 1 order.placed
}
