package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/sqldb"
)

// TestEventTypesCoverHandlers guards the consumers' type filters
// (consumer.WithEventTypes): every platform event type a service's
// EventTypes leave out must be one its handler ignores — handed any such
// event (with an order id, so a handler that did act on it would write or
// fail), it returns nil and writes nothing. A type added to a handler's
// switch but not to its EventTypes would be skipped by the consumer; this
// test fails first.
func TestEventTypesCoverHandlers(t *testing.T) {
	ctx := context.Background()
	codec, err := schema.NewCodec()
	if err != nil {
		t.Fatal(err)
	}
	reg, err := schema.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	cat := catalog.Default()
	dir := t.TempDir()
	open := func(name string, migrate func(*sqldb.DB) error) *sqldb.DB {
		db := openSQLite(t, filepath.Join(dir, name+".db"))
		if err := migrate(db); err != nil {
			t.Fatal(err)
		}
		return db
	}
	orderDB := open("order", func(db *sqldb.DB) error { return ordersvc.Migrate(ctx, db) })
	orders, err := ordersvc.New(orderDB, cat)
	if err != nil {
		t.Fatal(err)
	}
	defer orders.Close()
	mailer, err := email.NewHandler()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		db      *sqldb.DB
		h       consumer.Handler
		topics  []string
		handled []string
	}{
		{"order saga", orderDB, orders.SagaHandler(), ordersvc.SagaTopics, ordersvc.SagaEventTypes},
		{"payment", open("payment", func(db *sqldb.DB) error { return payment.Migrate(ctx, db) }),
			payment.NewHandler(codec, nil), payment.Topics, payment.EventTypes},
		{"inventory", open("inventory", func(db *sqldb.DB) error { return inventory.Migrate(ctx, db, cat) }),
			inventory.NewHandler(codec, nil), inventory.Topics, inventory.EventTypes},
		{"shipping", open("shipping", func(db *sqldb.DB) error { return shipping.Migrate(ctx, db) }),
			shipping.NewHandler(codec, nil), shipping.Topics, shipping.EventTypes},
		{"email", open("email", func(db *sqldb.DB) error { return email.Migrate(ctx, db) }), mailer, email.Topics, email.EventTypes},
		{"analytics", open("analytics", func(db *sqldb.DB) error { return analytics.Migrate(ctx, db) }),
			analytics.NewHandler(nil), analytics.Topics, analytics.EventTypes},
	} {
		contracts := schema.Contracts()
		for _, typ := range c.handled {
			onTopic := false
			for _, topic := range c.topics {
				onTopic = onTopic || slices.Contains(contracts[topic].Types, typ)
			}
			if !onTopic {
				t.Errorf("%s: EventTypes lists %s, which none of its topics %v carries", c.name, typ, c.topics)
			}
		}
		for _, typ := range reg.Types() {
			if slices.Contains(c.handled, typ) {
				continue
			}
			version, _ := reg.Latest(typ)
			env := event.Envelope{EventID: event.NewID(), EventType: typ, Version: version, Timestamp: time.Now().UTC(),
				Data:     json.RawMessage(`{"orderId": "o-filter", "userId": "u-filter", "reason": "customer_cancelled", "cause": "out_of_stock"}`),
				Metadata: event.Metadata{CorrelationID: "c-filter", Source: "test"}}
			err := c.db.InTx(ctx, func(tx *sqldb.Tx) error {
				var before, after int64
				if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
					return err
				}
				if err := c.h.Handle(ctx, tx, &consumer.Message{Envelope: env, Key: "o-filter", Attempt: 1}); err != nil {
					return err
				}
				if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after); err != nil {
					return err
				}
				if after != before {
					t.Errorf("%s: handling %s, outside its EventTypes, wrote %d rows", c.name, typ, after-before)
				}
				return nil
			})
			if err != nil {
				t.Errorf("%s: handling %s, outside its EventTypes: %v, want it ignored", c.name, typ, err)
			}
		}
	}
}
