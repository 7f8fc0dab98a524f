package saga_test

import (
	"context"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// Run applies timeouts by itself and stops when its context ends.
func TestRunAppliesTimeouts(t *testing.T) {
	db := sqltest.SQLite(t, migs...)
	clk := newClock()
	o, err := saga.New(db, []saga.Definition{orderDef()}, saga.WithClock(clk),
		saga.WithTickInterval(5*time.Millisecond), saga.WithTickBatch(2))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		start(t, db, o, id)
	}
	clk.Advance(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- o.Run(ctx) }()
	for give := time.Now().Add(20 * time.Second); ; {
		c, err := o.Counts(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if c[saga.StatusCompensating] == 5 {
			break
		}
		if time.Now().After(give) {
			t.Fatalf("counts = %v, want 5 compensating", c)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
