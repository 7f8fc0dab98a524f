package ordersvc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

// TestConcurrentPlacesGroupCommit places many orders at once (on SQLite
// they share group-commit transactions): every accepted order has its
// event and outbox row, a key reused with another request fails alone,
// and a cancelled request writes nothing.
func TestConcurrentPlacesGroupCommit(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		svc, db := newService(t, open)
		if _, err := svc.Place(context.Background(), request("u-0"), "taken"); err != nil {
			t.Fatalf("first place: %v", err)
		}
		const n = 64
		var wg sync.WaitGroup
		errs := make([]error, n)
		ids := make([]string, n)
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		for i := range n {
			wg.Go(func() {
				ctx, key, user := context.Background(), fmt.Sprintf("k-%d", i), fmt.Sprintf("u-%d", i)
				switch i % 8 {
				case 3:
					key = "taken" // another request under a used key
				case 5:
					ctx = cancelled
				}
				res, err := svc.Place(ctx, request(user), key)
				ids[i], errs[i] = res.OrderID, err
			})
		}
		wg.Wait()
		accepted := 1
		for i := range n {
			switch i % 8 {
			case 3:
				if !errors.Is(errs[i], ordersvc.ErrIdempotencyMismatch) {
					t.Errorf("request %d: got %v, want ErrIdempotencyMismatch", i, errs[i])
				}
			case 5:
				if !errors.Is(errs[i], context.Canceled) {
					t.Errorf("request %d: got %v, want context.Canceled", i, errs[i])
				}
			default:
				if errs[i] != nil || ids[i] == "" {
					t.Errorf("request %d: got %q, %v, want an order", i, ids[i], errs[i])
				}
				accepted++
			}
		}
		if got := countEvents(t, svc); got != accepted {
			t.Errorf("got %d events, want %d", got, accepted)
		}
		if got := len(outboxRows(t, db)); got != accepted {
			t.Errorf("got %d outbox rows, want %d", got, accepted)
		}
	})
}
