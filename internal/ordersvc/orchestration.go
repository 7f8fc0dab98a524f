package ordersvc

import (
	"context"
	"errors"
	"fmt"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// OrchestratorGroup is the consumer group of the orchestrator's reply
// consumer (topic kafka.TopicSagaReplies) in orchestration mode; it runs
// in the order service, on the order database.
const OrchestratorGroup = "saga-orchestrator"

// Orchestrate switches the service to the orchestrated saga: it returns the
// orchestrator of the order saga (ordersaga.Definition) on the service's
// database, whose transitions move the orders (Transition). From then on
// Place starts a saga in the transaction that appends order.placed, and
// Cancel compensates it in the transaction that appends order.cancelled.
// Feed it replies with a consumer.Runner (group OrchestratorGroup) running
// Orchestrator.Handler, and run Orchestrator.Run for the step timeouts.
// Call it once, before the service takes requests.
func (s *Service) Orchestrate(cfg ordersaga.Config, opts ...saga.Option) (*saga.Orchestrator, error) {
	o, err := saga.New(s.db, []saga.Definition{ordersaga.Definition(cfg, s.Transition)}, opts...)
	if err != nil {
		return nil, fmt.Errorf("ordersvc: %w", err)
	}
	s.orch = o
	return o, nil
}

// Orchestrator returns the orchestrator set by Orchestrate, nil under
// choreography.
func (s *Service) Orchestrator() *saga.Orchestrator { return s.orch }

// Transition is the order saga's OnTransition: it appends the order event
// a saga transition asks for (ordersaga.OrderChange) to the order's stream,
// with its outbox row on "orders", inside the orchestrator's transaction.
// The events are caused by the command whose reply made the transition. A
// change an order in a terminal state does not allow (a saga compensated
// after the customer cancelled) is a no-op.
func (s *Service) Transition(ctx context.Context, tx *sqldb.Tx, st *saga.State, e saga.HistoryEntry) error {
	change, ok, err := ordersaga.OrderChange(st, e)
	if err != nil || !ok {
		return err
	}
	cause := e.CommandID
	if cause == "" {
		cause = st.CommandID
	}
	md := event.Metadata{CorrelationID: st.CorrelationID, CausationID: cause, Source: Source}
	_, err = s.txRepository(tx).Update(ctx, st.ID, md, func(o *order.Order) error {
		_, err := change(o, s.cfg.now())
		return Judge(o, err)
	})
	if err != nil {
		return fmt.Errorf("ordersvc: saga %s %s of step %s: %w", st.ID, e.Event, e.StepName, err)
	}
	return nil
}

// txRepository reads and appends orders inside tx (saga transactions of
// both styles): never snapshots and does not retry (a conflict fails the
// event, which the consumer retries).
func (s *Service) txRepository(tx *sqldb.Tx) *order.Repository {
	return order.NewRepository(sagaStore{txStore{Store: s.store, tx: tx}},
		order.WithCodec(s.codec),
		order.WithOutbox(s.outboxMessages),
		order.WithLogger(s.cfg.logger),
		order.SnapshotEvery(0),
		order.MaxAttempts(1),
		order.WithStateCache(s.states, tx.OnCommit),
	)
}

// startSaga starts the order saga of the order placed by placed, in tx.
func (s *Service) startSaga(ctx context.Context, tx *sqldb.Tx, placed event.Envelope) error {
	e, err := order.DecodeEvent(placed)
	if err != nil {
		return err
	}
	p, ok := e.(order.Placed)
	if !ok {
		return fmt.Errorf("ordersvc: start saga: %s is not order.placed", placed.EventType)
	}
	_, err = s.orch.Start(ctx, tx, ordersaga.Name, p.OrderID, placed.Metadata.CorrelationID, placed.EventID, ordersaga.DataOf(p))
	return err
}

// cancelOrchestrated cancels order id and compensates its saga in one
// transaction. A saga that is no longer running (already compensating,
// stuck, or missing because the order was placed under choreography) is
// left as it is: the order is cancelled all the same.
func (s *Service) cancelOrchestrated(ctx context.Context, id string, md event.Metadata) (order.Result, error) {
	var res order.Result
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		err = s.db.InTx(ctx, func(tx *sqldb.Tx) error {
			var err error
			res, err = s.txRepository(tx).Update(ctx, id, md, func(o *order.Order) error {
				_, err := o.Cancel(order.ReasonCustomerCancelled, s.cfg.now())
				return err
			})
			if err != nil {
				return err
			}
			err = s.orch.Compensate(ctx, tx, id, ordersaga.CustomerCancelled)
			if errors.Is(err, saga.ErrInvalidState) || errors.Is(err, saga.ErrNotFound) {
				s.cfg.logger.InfoContext(ctx, "order cancelled; its saga is not running", "order", id, "err", err)
				return nil
			}
			return err
		})
		if !errors.Is(err, eventstore.ErrConflict) && !errors.Is(err, saga.ErrConflict) {
			break
		}
	}
	return res, err
}
