package ordersvc_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqldb/sqltest"
)

var errAbort = errors.New("test: abort after the handler")

// TestSagaStepRolledBackLeavesNoState: a saga step whose transaction, or
// savepoint, rolls back after the handler succeeded must leave nothing
// behind in the order state cache — the next delivery of the same event
// must append order.paid. (A cache filled before the commit would hold a
// paid order that was never stored, and the redelivery would be a no-op.)
func TestSagaStepRolledBackLeavesNoState(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		svc, db := newService(t, open)
		h := svc.SagaHandler()
		for _, how := range []string{"transaction", "savepoint"} {
			placed, err := svc.Place(ctx, request("u-"+how), "")
			if err != nil {
				t.Fatal(err)
			}
			paid := sagaEnv(t, schema.PaymentSucceeded{OrderID: placed.OrderID, PaymentID: "pay-" + how, AmountMinor: 1, Currency: "USD"})
			msg := &consumer.Message{Envelope: paid, Attempt: 1}
			err = db.InTx(ctx, func(tx *sqldb.Tx) error {
				if how == "transaction" {
					if err := h.Handle(ctx, tx, msg); err != nil {
						return err
					}
					return errAbort
				}
				ferr, err := tx.Savepoint(ctx, "test_step", func() error {
					if err := h.Handle(ctx, tx, msg); err != nil {
						return err
					}
					return errAbort
				})
				if !errors.Is(ferr, errAbort) {
					return fmt.Errorf("savepoint: %v", ferr)
				}
				return err // commit the (empty) rest of the transaction
			})
			if how == "transaction" && !errors.Is(err, errAbort) || how == "savepoint" && err != nil {
				t.Fatalf("%s: %v", how, err)
			}
			if got := eventTypes(t, svc, placed.OrderID); !slices.Equal(got, []string{order.TypePlaced}) {
				t.Fatalf("%s rolled back, stream holds %v", how, got)
			}
			handle(t, svc, db, paid)
			if got := eventTypes(t, svc, placed.OrderID); !slices.Equal(got, []string{order.TypePlaced, order.TypePaid}) {
				t.Errorf("%s: after the rolled-back step and a redelivery the stream holds %v, want placed, paid", how, got)
			}
		}
		if loads, hits := svc.StateCacheStats(); hits == 0 {
			t.Errorf("the cache answered none of %d loads: the test did not exercise it", loads)
		}
	})
}

// TestSagaStepSeesTheCustomersCancel: a cancel through the API (not the
// saga's transactions) lands after the cached state; the next saga step
// folds it and does nothing to a cancelled order.
func TestSagaStepSeesTheCustomersCancel(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		svc, db := newService(t, open)
		placed, err := svc.Place(ctx, request("u-cancel"), "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Cancel(ctx, placed.OrderID); err != nil {
			t.Fatal(err)
		}
		handle(t, svc, db, sagaEnv(t, schema.PaymentSucceeded{OrderID: placed.OrderID, PaymentID: "pay-1", AmountMinor: 1, Currency: "USD"}))
		if got := eventTypes(t, svc, placed.OrderID); !slices.Equal(got, []string{order.TypePlaced, order.TypeCancelled}) {
			t.Errorf("stream holds %v, want placed, cancelled (the late payment is stale)", got)
		}
		if _, hits := svc.StateCacheStats(); hits == 0 {
			t.Errorf("the saga step did not start from the cached state")
		}
	})
}

// BenchmarkSagaSteps runs an order's three saga steps (payment.succeeded,
// stock.reserved, shipment.created) through the saga handler, 64 orders a
// transaction, with the order state cache and without it (the reference:
// every step folds the whole stream), on each database.
func BenchmarkSagaSteps(b *testing.B) {
	for dbName, open := range map[string]opener{"sqlite": sqltest.SQLite, "postgres": sqltest.Postgres} {
		for _, size := range []int{-1, 0} {
			name := dbName + "/cache"
			if size < 0 {
				name = dbName + "/nocache"
			}
			b.Run(name, func(b *testing.B) {
				ctx := context.Background()
				db := open(b)
				if err := ordersvc.Migrate(ctx, db); err != nil {
					b.Fatal(err)
				}
				svc, err := ordersvc.New(db, catalog.Default(), ordersvc.WithStateCacheSize(size))
				if err != nil {
					b.Fatal(err)
				}
				defer svc.Close()
				h := svc.SagaHandler()
				const perTx = 64
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i += perTx {
					b.StopTimer()
					var envs [3][]event.Envelope
					for j := 0; j < perTx; j++ {
						p, err := svc.Place(ctx, request(fmt.Sprintf("u-%d", i+j)), "")
						if err != nil {
							b.Fatal(err)
						}
						envs[0] = append(envs[0], sagaEnvB(b, schema.PaymentSucceeded{OrderID: p.OrderID, PaymentID: "pay", AmountMinor: 1, Currency: "USD"}))
						envs[1] = append(envs[1], sagaEnvB(b, schema.StockReserved{OrderID: p.OrderID, ReservationID: "res"}))
						envs[2] = append(envs[2], sagaEnvB(b, schema.ShipmentCreated{OrderID: p.OrderID, Carrier: "DHL", TrackingNumber: "T"}))
					}
					b.StartTimer()
					for _, step := range envs {
						if err := db.InTx(ctx, func(tx *sqldb.Tx) error {
							for _, env := range step {
								if err := h.Handle(ctx, tx, &consumer.Message{Envelope: env, Attempt: 1}); err != nil {
									return err
								}
							}
							return nil
						}); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(3*((b.N+perTx-1)/perTx*perTx)), "µs/step")
			})
		}
	}
}

func sagaEnvB(b *testing.B, data any) event.Envelope {
	env, err := schema.New(data, event.Metadata{CorrelationID: "c", CausationID: "e", Source: "test"})
	if err != nil {
		b.Fatal(err)
	}
	return env
}

// TestSagaStepConfirmsARefusalOnTheCurrentState: another writer (another
// instance) moved the order past its cached state; a saga step that the
// cached state refuses (shipment.created on a paid order would be early)
// is decided again on the stored stream and applies, instead of being
// kept as early forever.
func TestSagaStepConfirmsARefusalOnTheCurrentState(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		svc, db := newService(t, open)
		placed, err := svc.Place(ctx, request("u-other"), "")
		if err != nil {
			t.Fatal(err)
		}
		id := placed.OrderID
		handle(t, svc, db, sagaEnv(t, schema.PaymentSucceeded{OrderID: id, PaymentID: "pay-1", AmountMinor: 1, Currency: "USD"}))
		other := event.Metadata{CorrelationID: placed.CorrelationID, CausationID: "other", Source: ordersvc.Source}
		if _, err := svc.Repository().Update(ctx, id, other, func(o *order.Order) error {
			_, err := o.MarkReserved("res-1", o.PaidAt)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		handle(t, svc, db, sagaEnv(t, schema.ShipmentCreated{OrderID: id, Carrier: "DHL", TrackingNumber: "T-1"}))
		want := []string{order.TypePlaced, order.TypePaid, order.TypeReserved, order.TypeShipped}
		if got := eventTypes(t, svc, id); !slices.Equal(got, want) {
			t.Errorf("stream holds %v, want %v", got, want)
		}
		if n := earlyCount(t, svc); n != 0 {
			t.Errorf("%d early events kept, want 0 (the shipment applies to the stored state)", n)
		}
	})
}
