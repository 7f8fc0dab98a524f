package outbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// Example writes a record into the outbox in the same transaction as the
// state change, and lets the relay publish it.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer os.RemoveAll(dir)
	db, _ := sqlite.Open(ctx, filepath.Join(dir, "orders.db"))
	defer db.Close()
	_ = db.Migrate(ctx, outbox.Migrations())

	cluster, _ := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders"))
	defer cluster.Close()
	// franz-go's defaults are what the relay needs: idempotent, acks=all.
	client, _ := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	defer client.Close()

	err := db.InTx(ctx, func(tx *sqldb.Tx) error {
		// ... change state in tx, then:
		return outbox.Enqueue(ctx, tx, outbox.Message{
			Topic:   "orders",
			Key:     "u-42",
			Value:   []byte(`{"eventType":"order.placed"}`),
			Headers: []outbox.Header{{Key: "ce_type", Value: "order.placed"}},
		})
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	relay := outbox.NewRelay(db, client)
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- relay.Run(rctx) }()
	for relay.Stats().Published < 1 {
		time.Sleep(time.Millisecond)
	}
	stop()
	<-done
	n, _ := relay.Backlog(ctx)
	fmt.Println("published:", relay.Stats().Published, "left:", n)
	// Output: published: 1 left: 0
}
