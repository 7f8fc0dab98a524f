package sqlstore_test

import (
	"context"
	"testing"

	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestAppendWithOutbox: the outbox rows commit with the events, or neither
// does.
func TestAppendWithOutbox(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		db := open(t, sqlstore.Migrations(), outbox.Migrations())
		s := sqlstore.New(db)
		countOutbox := func() int {
			t.Helper()
			var n int
			if err := db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
				t.Fatalf("count outbox: %v", err)
			}
			return n
		}
		msg := outbox.Message{Topic: "orders", Key: "u-1", Value: []byte(`{}`)}
		// A message the outbox rejects fails the append: nothing is stored.
		if _, err := s.Append(ctx, "order-1", eventstore.NoStream, testEvents(2), eventstore.WithOutbox(outbox.Message{})); err == nil {
			t.Fatal("Append with an invalid outbox message succeeded")
		}
		if got, want := countOutbox(), 0; got != want {
			t.Fatalf("outbox rows after failed append = %d, want %d", got, want)
		}
		if recs, err := s.ReadAll(ctx, 0, 10); err != nil || len(recs) != 0 {
			t.Fatalf("events after failed append = %d, %v; want none", len(recs), err)
		}
		evs := testEvents(2)
		if _, err := s.Append(ctx, "order-1", eventstore.NoStream, evs, eventstore.WithOutbox(msg, msg)); err != nil {
			t.Fatalf("Append WithOutbox: %v", err)
		}
		if got, want := countOutbox(), 2; got != want {
			t.Fatalf("outbox rows = %d, want %d", got, want)
		}
		// A conflicting append writes no outbox rows; an exact repeat neither.
		if _, err := s.Append(ctx, "order-1", eventstore.NoStream, testEvents(1), eventstore.WithOutbox(msg)); err == nil {
			t.Fatal("conflicting Append succeeded")
		}
		if _, err := s.Append(ctx, "order-1", eventstore.NoStream, evs, eventstore.WithOutbox(msg)); err != nil {
			t.Fatalf("repeated Append: %v", err)
		}
		if got, want := countOutbox(), 2; got != want {
			t.Fatalf("outbox rows after conflict and repeat = %d, want %d", got, want)
		}
	})
}
