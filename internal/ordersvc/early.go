package ordersvc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/fifo"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/sqldb"
)

// The order service follows three topics (payments, inventory, shipping),
// and Kafka orders records only within a partition of one topic. So the
// saga consumer can meet stock.reserved before it has handled the
// payment.succeeded it follows: the inventory service read that payment
// first and answered while the order service's payments partition was
// still queued. Such an early event is not an error and is not retried:
// it is resequenced. The handler keeps it in order_saga_early, in the
// transaction that marks it processed (so it is neither lost nor applied
// twice), and every saga event that moves the order applies the early
// events of that order that have become next, in the same transaction
// (looking for them only for the orders earlySet holds).
//
// On SQLite the saga transactions of one database run one at a time, so
// an early event is always seen by the transaction that makes it next. On
// PostgreSQL two instances may handle the two events of one order at the
// same moment, each in its own transaction: the one that keeps the early
// event can commit after the other one looked for early events. The
// sweeper (ReleaseEarly, run by the platform every EarlySweepInterval)
// applies what such a race left, and is the path by which an early event
// follows a predecessor that was dead-lettered and later replayed.

// EarlySweepInterval is how often the platform runs ReleaseEarly.
const EarlySweepInterval = time.Second

// sagaEvent applies the saga event env to its order in tx. It returns the
// order id, whether the order changed (events were appended) and the
// error: ErrNotYet (wrapped) when env follows a step not handled yet.
func (s *Service) sagaEvent(ctx context.Context, tx *sqldb.Tx, env event.Envelope) (orderID string, changed bool, err error) {
	orderID, cmd, ok, err := SagaCommand(env)
	if err != nil {
		return orderID, false, consumer.Permanent(err)
	}
	if !ok {
		return orderID, false, nil
	}
	res, err := s.txRepository(tx).Update(ctx, orderID, event.CausedBy(env, Source), func(o *order.Order) error {
		_, err := cmd(o, s.cfg.now())
		return Judge(o, err)
	})
	if errors.Is(err, order.ErrNotFound) {
		// Orders are created here, in the transaction that publishes
		// order.placed, before any service can answer it: an event for
		// an order this service never placed can never apply.
		return orderID, false, consumer.Permanent(fmt.Errorf("ordersvc: %s for order %.64q, which was never placed: %w",
			env.EventType, orderID, err))
	}
	if err != nil {
		return orderID, false, fmt.Errorf("ordersvc: %s for order %s: %w", env.EventType, orderID, err)
	}
	return orderID, len(res.Events) > 0, nil
}

// earlySetSize bounds how many orders an earlySet remembers.
const earlySetSize = 65_536

// earlySet is the orders that may have early events: those this process
// kept some for (holdEarly, at once, before the commit, so that a later
// event of the same batch finds them) and those the sweeper saw in the
// table. A saga step that moves an order looks for its early events only
// when the set holds the order, which spares the query for the ~all
// orders that never had one. An order it misses — its early event was
// kept by another instance or before a restart, or was forgotten (the set
// keeps the newest earlySetSize orders) — is found by the sweeper within
// EarlySweepInterval, the path that already handles the instances' race.
// A false positive costs one query. It is safe for concurrent use.
type earlySet struct {
	mu sync.Mutex
	m  *fifo.Map[string, struct{}]
}

func newEarlySet() *earlySet { return &earlySet{m: fifo.New[string, struct{}](earlySetSize)} }

func (e *earlySet) add(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m.Put(id, struct{}{})
}

func (e *earlySet) has(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.m.Get(id)
	return ok
}

// holdEarly keeps env, which arrived before the step it follows, for
// releaseEarly. A second copy of the same event changes nothing.
func (s *Service) holdEarly(ctx context.Context, tx *sqldb.Tx, orderID string, env event.Envelope) error {
	s.early.add(orderID)
	value, err := s.sagaCodec.Encode(env)
	if err != nil {
		return consumer.Permanent(fmt.Errorf("ordersvc: keep early %s %s: %w", env.EventType, env.EventID, err))
	}
	if _, err := consumer.Exec(ctx, tx, `INSERT INTO order_saga_early (order_id, event_id, event_type, value, received_ms)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, event_id) DO NOTHING`,
		orderID, env.EventID, env.EventType, value, s.cfg.now().UnixMilli()); err != nil {
		return fmt.Errorf("ordersvc: keep early %s for order %s: %w", env.EventType, orderID, err)
	}
	return nil
}

// earlyEvent is a row of order_saga_early.
type earlyEvent struct {
	id    string
	value []byte
}

// releaseEarly applies, in tx, the early events of order orderID that
// have become next, in the order they arrived, and deletes them (also
// those that turned stale: the order ended meanwhile). It returns how many
// it took off the table. An early event that cannot be decoded any more is
// logged and left.
func (s *Service) releaseEarly(ctx context.Context, tx *sqldb.Tx, orderID string) (int, error) {
	released := 0
	for {
		pending, err := s.earlyOf(ctx, tx, orderID)
		if err != nil || len(pending) == 0 {
			return released, err
		}
		progress := false
		for _, e := range pending {
			env, err := s.sagaCodec.Decode(e.value)
			if err != nil {
				s.cfg.logger.Error("early saga event no longer decodes; left in order_saga_early",
					"order", orderID, "event", e.id, "err", err)
				continue
			}
			_, _, err = s.sagaEvent(ctx, tx, env)
			if errors.Is(err, ErrNotYet) {
				continue
			}
			if err != nil {
				return released, err
			}
			if _, err := consumer.Exec(ctx, tx, `DELETE FROM order_saga_early WHERE order_id = $1 AND event_id = $2`, orderID, e.id); err != nil {
				return released, fmt.Errorf("ordersvc: release early event %s: %w", e.id, err)
			}
			released++
			progress = true
		}
		if !progress {
			return released, nil
		}
	}
}

// earlyOf returns the early events kept for orderID, oldest first.
func (s *Service) earlyOf(ctx context.Context, tx *sqldb.Tx, orderID string) ([]earlyEvent, error) {
	rows, err := consumer.Query(ctx, tx, `SELECT event_id, value FROM order_saga_early WHERE order_id = $1
		ORDER BY received_ms, event_id`, orderID)
	if err != nil {
		return nil, fmt.Errorf("ordersvc: early events of %s: %w", orderID, err)
	}
	defer rows.Close()
	var out []earlyEvent
	for rows.Next() {
		var e earlyEvent
		if err := rows.Scan(&e.id, &e.value); err != nil {
			return nil, fmt.Errorf("ordersvc: early events of %s: %w", orderID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ordersvc: early events of %s: %w", orderID, err)
	}
	return out, nil
}

// ReleaseEarly applies the early events of every order that has some and
// whose step they follow has been handled meanwhile (see the comment at
// the top of early.go), one transaction per order, at most 500 orders per
// call. It returns how many events it applied or dropped as stale.
func (s *Service) ReleaseEarly(ctx context.Context) (int, error) {
	rows, err := s.db.Read.QueryContext(ctx, `SELECT order_id FROM order_saga_early GROUP BY order_id
		ORDER BY MIN(received_ms) LIMIT 500`)
	if err != nil {
		return 0, fmt.Errorf("ordersvc: orders with early events: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("ordersvc: orders with early events: %w", err)
		}
		ids = append(ids, id)
		s.early.add(id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("ordersvc: orders with early events: %w", err)
	}
	total := 0
	for _, id := range ids {
		var n int
		if err := s.db.InTx(ctx, func(tx *sqldb.Tx) (err error) {
			n, err = s.releaseEarly(ctx, tx, id)
			return err
		}); err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// EarlyStats returns how many early saga events wait for the step they
// follow, and when the oldest of them arrived (zero when none wait).
func (s *Service) EarlyStats(ctx context.Context) (waiting int, oldest time.Time, err error) {
	var ms *int64
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*), MIN(received_ms) FROM order_saga_early`).Scan(&waiting, &ms); err != nil {
		return 0, time.Time{}, fmt.Errorf("ordersvc: early saga events: %w", err)
	}
	if ms != nil {
		oldest = time.UnixMilli(*ms)
	}
	return waiting, oldest, nil
}

// RunEarlySweeper calls ReleaseEarly every EarlySweepInterval until ctx
// ends, logging failures and events that have waited longer than a minute.
func (s *Service) RunEarlySweeper(ctx context.Context) {
	t := time.NewTicker(EarlySweepInterval)
	defer t.Stop()
	warned := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.ReleaseEarly(ctx); err != nil && ctx.Err() == nil {
			s.cfg.logger.Warn("early saga events: sweep", "err", err)
		}
		if n, oldest, err := s.EarlyStats(ctx); err == nil && n > 0 && time.Since(oldest) > time.Minute && time.Since(warned) > time.Minute {
			warned = time.Now()
			s.cfg.logger.Warn("early saga events wait for the step they follow (dead-lettered? see causeway dlq list)",
				"waiting", n, "oldest", oldest)
		}
	}
}
