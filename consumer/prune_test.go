package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

func insertProcessedAt(t *testing.T, db *sqldb.DB, group, id string, at time.Time) {
	t.Helper()
	if _, err := db.Write.ExecContext(context.Background(),
		`INSERT INTO consumer_processed (group_name, event_id, processed_at) VALUES ($1, $2, $3)`,
		group, id, at.UnixMilli()); err != nil {
		t.Fatal(err)
	}
}

func countProcessed(t *testing.T, db *sqldb.DB, group string) int {
	t.Helper()
	var n int
	if err := db.Read.QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM consumer_processed WHERE group_name = $1`, group).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPruneDeletesOnlyOldRowsOfTheGroup(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, consumer.Migrations())
		ctx := context.Background()
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		window := consumer.DefaultPruneWindow
		// 23 old rows (more than two batches of 10), 5 young ones, and
		// old rows of another group.
		for i := range 23 {
			insertProcessedAt(t, db, "g", fmt.Sprintf("old-%02d", i), now.Add(-window-time.Duration(i+1)*time.Minute))
		}
		for i := range 5 {
			insertProcessedAt(t, db, "g", fmt.Sprintf("young-%d", i), now.Add(-window+time.Minute))
		}
		// Interleave an id that sorts between old ones but is young.
		insertProcessedAt(t, db, "g", "old-10x", now.Add(-time.Hour))
		insertProcessedAt(t, db, "other", "old-00", now.Add(-30*24*time.Hour))

		n, err := consumer.Prune(ctx, db, "g", window,
			consumer.WithPruneClock(func() time.Time { return now }), consumer.WithPruneBatch(10))
		if err != nil {
			t.Fatal(err)
		}
		if n != 23 {
			t.Fatalf("deleted %d rows, want 23", n)
		}
		if got := countProcessed(t, db, "g"); got != 6 {
			t.Fatalf("group g keeps %d rows, want 6", got)
		}
		if got := countProcessed(t, db, "other"); got != 1 {
			t.Fatalf("group other keeps %d rows, want 1 (another group's rows are not touched)", got)
		}
		for _, id := range []string{"young-0", "old-10x"} {
			ok, err := consumer.Processed(ctx, db, "g", id)
			if err != nil || !ok {
				t.Fatalf("Processed(%s) = %v, %v; want true (young row kept)", id, ok, err)
			}
		}
		// Idempotent: nothing more to prune.
		if n, err := consumer.Prune(ctx, db, "g", window, consumer.WithPruneClock(func() time.Time { return now })); err != nil || n != 0 {
			t.Fatalf("second prune: %d, %v; want 0, nil", n, err)
		}
	})
}

func TestPruneRefusesWindowInsideRetention(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, consumer.Migrations())
		ctx := context.Background()
		now := time.Now()
		insertProcessedAt(t, db, "g", "e1", now.Add(-10*24*time.Hour))

		// 10 days: beyond the 7-day event topics, but inside the 14-day
		// replay topic + 1 day.
		_, err := consumer.Prune(ctx, db, "g", 10*24*time.Hour)
		var we *consumer.WindowError
		if !errors.Is(err, consumer.ErrWindowTooShort) || !errors.As(err, &we) {
			t.Fatalf("err = %v, want ErrWindowTooShort", err)
		}
		if we.Retention != consumer.DefaultPruneRetention || we.Margin != consumer.DefaultPruneMargin {
			t.Fatalf("WindowError = %+v", we)
		}
		if got := countProcessed(t, db, "g"); got != 1 {
			t.Fatalf("a refused prune deleted rows: %d left", got)
		}
		if _, err := consumer.NewPruner(db, "g", 7*24*time.Hour); !errors.Is(err, consumer.ErrWindowTooShort) {
			t.Fatalf("NewPruner err = %v, want ErrWindowTooShort", err)
		}
		// Told the topics keep only 7 days, 8 days is allowed.
		n, err := consumer.Prune(ctx, db, "g", 8*24*time.Hour,
			consumer.WithPruneRetention(7*24*time.Hour), consumer.WithPruneClock(func() time.Time { return now }))
		if err != nil || n != 1 {
			t.Fatalf("prune with 7d retention: %d, %v; want 1, nil", n, err)
		}
	})
}

func TestPrunerRunPrunesUntilCancelled(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open func(t testing.TB, migs ...[]sqldb.Migration) *sqldb.DB) {
		db := open(t, consumer.Migrations())
		now := time.Now()
		insertProcessedAt(t, db, "g", "old", now.Add(-20*24*time.Hour))
		insertProcessedAt(t, db, "g", "new", now)
		p, err := consumer.NewPruner(db, "g", consumer.DefaultPruneWindow)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		// Run prunes at once; wait for it (bounded by ctx).
		for countProcessed(t, db, "g") != 1 {
			select {
			case <-ctx.Done():
				t.Fatal("pruner did not prune within 10s")
			case <-time.After(5 * time.Millisecond):
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
		if ok, _ := consumer.Processed(context.Background(), db, "g", "new"); !ok {
			t.Fatal("the young row was pruned")
		}
	})
}
