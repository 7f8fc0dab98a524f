package ordersvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/order"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
)

// Source is the metadata.source of every event the service produces.
const Source = "order-service"

// Sentinel errors of the service. Errors of the order aggregate
// (order.ErrNotFound, order.ErrInvalid, order.ErrIllegalTransition, …) are
// returned wrapped as they are.
var (
	// ErrIdempotencyMismatch: the Idempotency-Key was used before with a
	// different request (HTTP 409).
	ErrIdempotencyMismatch = errors.New("ordersvc: idempotency key reused with a different request")
	// ErrBadIdempotencyKey: the key is not 1–MaxKeyLen bytes of visible
	// ASCII (HTTP 400).
	ErrBadIdempotencyKey = errors.New("ordersvc: invalid idempotency key")
)

// Option configures a Service.
type Option interface{ apply(*config) }

type config struct {
	logger     *slog.Logger
	now        func() time.Time
	stateCache int
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithClock sets the clock that stamps commands (default time.Now). Tests
// use it to place events at known times.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *config) { c.now = now }) }

// WithStateCacheSize sets how many orders' committed states the service
// keeps in memory for Place and the saga steps (order.StateCache; default
// order.DefaultStateCacheSize). n < 0 turns the cache off: every saga step
// then folds the order's whole stream.
func WithStateCacheSize(n int) Option { return optionFunc(func(c *config) { c.stateCache = n }) }

// Service is the order service. It is safe for concurrent use.
type Service struct {
	db    *sqldb.DB
	store *sqlstore.Store
	cat   *catalog.Catalog
	codec *event.Codec
	// sagaCodec reads and writes the saga events the service follows
	// (the early ones it keeps, early.go).
	sagaCodec *event.Codec
	repo      *order.Repository
	// states caches the committed state of recent orders for the
	// transactions that change them (Place and the saga steps), so a saga
	// step folds no event it has seen before (order.StateCache).
	states *order.StateCache
	// early is the orders that may have early saga events (early.go).
	early *earlySet
	cfg   config
	orch  *saga.Orchestrator // nil under choreography (see Orchestrate)
	// places group-commits concurrent Place transactions (SQLite).
	places placeBatcher
}

// New returns the order service on db, which must be migrated (Migrate).
// The caller owns db and closes it after Close.
func New(db *sqldb.DB, cat *catalog.Catalog, opts ...Option) (*Service, error) {
	cfg := config{now: time.Now}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if db == nil || cat == nil {
		return nil, errors.New("ordersvc: New needs a database and a catalog")
	}
	codec, err := order.NewCodec()
	if err != nil {
		return nil, fmt.Errorf("ordersvc: %w", err)
	}
	sagaCodec, err := schema.NewCodec()
	if err != nil {
		return nil, fmt.Errorf("ordersvc: %w", err)
	}
	s := &Service{db: db, store: sqlstore.New(db), cat: cat, codec: codec, sagaCodec: sagaCodec, cfg: cfg, early: newEarlySet()}
	if cfg.stateCache >= 0 {
		s.states = order.NewStateCache(cfg.stateCache)
	}
	s.repo = s.newRepository(s.store)
	return s, nil
}

// Close releases the store's prepared statements. It does not close the DB.
func (s *Service) Close() error { return s.store.Close() }

// Store returns the service's event store (for the read side and tools).
func (s *Service) Store() eventstore.Store { return s.store }

// Repository returns the order repository that writes events and their
// outbox rows together; saga handlers use it to move the status.
func (s *Service) Repository() *order.Repository { return s.repo }

func (s *Service) newRepository(store eventstore.Store, opts ...order.Option) *order.Repository {
	return order.NewRepository(store, append([]order.Option{
		order.WithCodec(s.codec),
		order.WithOutbox(s.outboxMessages),
		order.WithLogger(s.cfg.logger),
	}, opts...)...)
}

// StateCacheStats returns how many saga-step loads asked the order state
// cache and how many it answered.
func (s *Service) StateCacheStats() (loads, hits uint64) {
	if s.states == nil {
		return 0, 0
	}
	return s.states.Stats()
}

// txStore binds the event store's Append to one transaction, so that
// Repository.Create appends inside the transaction that also claims the
// idempotency key.
type txStore struct {
	*sqlstore.Store
	tx *sqldb.Tx
}

func (s txStore) Append(ctx context.Context, streamID string, expected int64, events []event.Envelope, opts ...eventstore.AppendOption) (eventstore.AppendResult, error) {
	return s.AppendTx(ctx, s.tx, streamID, expected, events, opts...)
}

// Token renders a global event-store position as the opaque consistency
// token of the API.
func Token(position int64) string { return strconv.FormatInt(position, 10) }

// CancelResult is the answer to a cancellation.
type CancelResult struct {
	OrderID          string `json:"orderId"`
	Status           string `json:"status"`
	ConsistencyToken string `json:"consistencyToken"`
}

// Cancel cancels order id at the customer's request; under orchestration
// its saga is compensated in the same transaction. An unknown order
// gives order.ErrNotFound; a shipped or already cancelled one a
// *order.TransitionError (order.ErrIllegalTransition).
func (s *Service) Cancel(ctx context.Context, id string) (CancelResult, error) {
	if !validID(id) {
		return CancelResult{}, fmt.Errorf("%w: order %q", order.ErrNotFound, clip(id))
	}
	md, err := s.flowOf(ctx, id)
	if err != nil {
		return CancelResult{}, err
	}
	var res order.Result
	if s.orch != nil {
		res, err = s.cancelOrchestrated(ctx, id, md)
	} else {
		res, err = s.repo.Update(ctx, id, md, func(o *order.Order) error {
			_, err := o.Cancel(order.ReasonCustomerCancelled, s.cfg.now())
			return err
		})
	}
	if err != nil {
		return CancelResult{}, fmt.Errorf("ordersvc: cancel %q: %w", id, err)
	}
	return CancelResult{OrderID: id, Status: string(res.Order.Status), ConsistencyToken: Token(res.Append.LastPosition)}, nil
}

// flowOf returns the metadata of a new event in the order's flow: its
// correlation id, caused by the order's first event.
func (s *Service) flowOf(ctx context.Context, id string) (event.Metadata, error) {
	first, err := s.firstRecord(ctx, id)
	if err != nil {
		return event.Metadata{}, err
	}
	return event.CausedBy(first.Event, Source), nil
}

func (s *Service) firstRecord(ctx context.Context, id string) (eventstore.Record, error) {
	recs, err := s.store.Load(ctx, order.StreamID(id), 0)
	if errors.Is(err, eventstore.ErrNotFound) || (err == nil && len(recs) == 0) {
		return eventstore.Record{}, fmt.Errorf("%w: order %q", order.ErrNotFound, clip(id))
	}
	if err != nil {
		return eventstore.Record{}, fmt.Errorf("ordersvc: load %q: %w", id, err)
	}
	return recs[0], nil
}

// validID reports whether id can be an order id: 1–128 bytes of visible
// ASCII. Anything else cannot exist, so it is simply not found.
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// clip shortens a client value echoed in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
