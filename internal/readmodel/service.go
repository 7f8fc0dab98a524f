package readmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
)

// DefaultConsistencyWait bounds how long a query with a consistency token
// waits for the read model to apply the write.
const DefaultConsistencyWait = 2 * time.Second

// Sentinel errors. Match them with errors.Is.
var (
	// ErrBadToken: a consistency token that is not one the order service
	// gave (the API answers 400).
	ErrBadToken = errors.New("readmodel: invalid consistency token")
	// ErrBadCursor: a malformed pagination cursor or limit (400).
	ErrBadCursor = errors.New("readmodel: invalid cursor or limit")
	// ErrNotFound: the read model does not know the order.
	ErrNotFound = errors.New("readmodel: not found")
	// ErrUnknownProjection: no projection of that name.
	ErrUnknownProjection = errors.New("readmodel: unknown projection")
)

// Resolver maps a consistency token's event store position to the id of
// the event written there. EventStoreResolver is the usual one.
type Resolver func(ctx context.Context, position int64) (eventID string, err error)

// EventStoreResolver resolves positions with store.ReadAll.
func EventStoreResolver(store eventstore.Store) Resolver {
	return func(ctx context.Context, pos int64) (string, error) {
		recs, err := store.ReadAll(ctx, pos-1, 1)
		if err != nil {
			return "", err
		}
		if len(recs) == 0 || recs[0].Position != pos {
			return "", fmt.Errorf("%w: position %d is not in the event store", ErrBadToken, pos)
		}
		return recs[0].Event.EventID, nil
	}
}

// Option configures a Service.
type Option func(*Service)

// WithResolver sets how consistency tokens are resolved (without one,
// every token is answered as stale once the wait ends).
func WithResolver(r Resolver) Option { return func(s *Service) { s.resolve = r } }

// WithConsistencyWait sets the longest wait for a token (default 2s).
func WithConsistencyWait(d time.Duration) Option { return func(s *Service) { s.wait = d } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithRunnerOptions passes options to every projection runner (at least
// projection.WithKafkaOpts with the brokers).
func WithRunnerOptions(opts ...projection.Option) Option {
	return func(s *Service) { s.ropts = append(s.ropts, opts...) }
}

// Service is the read service: its projections' runners over its own
// database, and the queries of the API. Safe for concurrent use.
type Service struct {
	db      *sqldb.DB
	resolve Resolver
	wait    time.Duration
	log     *slog.Logger
	ropts   []projection.Option
	runners map[string]*projection.Runner
	order   []string
	wg      sync.WaitGroup
}

// Migrate applies the runner's tables (projection.Migrations) to db; the
// projections' own tables are created by their runners' Setup.
func Migrate(ctx context.Context, db *sqldb.DB) error {
	if err := db.Migrate(ctx, projection.Migrations()); err != nil {
		return fmt.Errorf("readmodel: migrate: %w", err)
	}
	return nil
}

// New returns the read service over db (migrated with Migrate), decoding
// with dec (schema.NewCodec), and sets its projections' tables up so
// queries find them before the first event.
func New(ctx context.Context, db *sqldb.DB, dec projection.Decoder, opts ...Option) (*Service, error) {
	s := &Service{db: db, wait: DefaultConsistencyWait, runners: map[string]*projection.Runner{}}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// ParkKey: an event that cannot be applied parks its key (and the
	// key's later events), not its whole partition (DESIGN rule 3).
	ropts := append([]projection.Option{projection.WithLogger(s.log), projection.WithWaitPoll(50 * time.Millisecond),
		projection.WithPoisonPolicy(projection.ParkKey), projection.WithContracts(schema.Contracts())}, s.ropts...)
	for _, p := range All() {
		r, err := projection.New(db, dec, p, ropts...)
		if err != nil {
			return nil, err
		}
		if err := r.Setup(ctx); err != nil {
			return nil, fmt.Errorf("readmodel: set up %s: %w", p.Name(), err)
		}
		s.runners[p.Name()] = r
		s.order = append(s.order, p.Name())
	}
	return s, nil
}

// Names lists the projections, in a stable order.
func (s *Service) Names() []string { return append([]string(nil), s.order...) }

// Runner returns the runner of projection name.
func (s *Service) Runner(name string) (*projection.Runner, error) {
	r, ok := s.runners[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownProjection, name, strings.Join(s.order, ", "))
	}
	return r, nil
}

// Start runs every projection's runner until ctx ends; Wait waits for
// them to stop.
func (s *Service) Start(ctx context.Context) {
	for _, name := range s.order {
		r := s.runners[name]
		s.wg.Go(func() {
			if err := r.Run(ctx); err != nil {
				s.log.Error("projection stopped", "projection", name, "err", err)
			}
		})
	}
}

// Wait waits until the runners started by Start have stopped.
func (s *Service) Wait() { s.wg.Wait() }

// Statuses returns every runner's status.
func (s *Service) Statuses() []projection.Status {
	out := make([]projection.Status, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.runners[n].Status())
	}
	return out
}

// ParseToken checks a consistency token as the order service makes it
// (ordersvc.Token: the event store position of the write, a positive
// decimal) and returns the position. Anything else is ErrBadToken.
func ParseToken(tok string) (int64, error) {
	if tok == "" || len(tok) > 19 {
		return 0, fmt.Errorf("%w: %.40q", ErrBadToken, tok)
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, fmt.Errorf("%w: %.40q", ErrBadToken, tok)
		}
	}
	pos, err := strconv.ParseInt(tok, 10, 64)
	if err != nil || pos < 1 {
		return 0, fmt.Errorf("%w: %.40q", ErrBadToken, tok)
	}
	return pos, nil
}

// Consistent waits, at most the consistency wait, until projection name
// has applied the write of token. It returns stale = true when the wait
// ran out (or the token cannot be resolved to an event: the read model
// then cannot prove it is fresh). An empty token needs no wait. A
// malformed token is ErrBadToken.
func (s *Service) Consistent(ctx context.Context, name, token string) (stale bool, err error) {
	if token == "" {
		return false, nil
	}
	pos, err := ParseToken(token)
	if err != nil {
		return false, err
	}
	r, err := s.Runner(name)
	if err != nil {
		return false, err
	}
	wctx, cancel := context.WithTimeout(ctx, s.wait)
	defer cancel()
	if s.resolve == nil {
		return true, nil
	}
	id, err := s.resolve(wctx, pos)
	switch {
	case errors.Is(err, ErrBadToken):
		return false, err
	case err != nil:
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		s.log.Warn("readmodel: resolve consistency token", "token", token, "err", err)
		return true, nil
	}
	if err := r.WaitForEvent(wctx, id); err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return true, nil
	}
	return false, nil
}

// CatchUp waits until every projection has applied the records before
// end (per partition, the next offset to be written, as
// kadm.ListEndOffsets gives), or ctx ends (projection.ErrStale).
func (s *Service) CatchUp(ctx context.Context, end map[projection.TopicPartition]int64) error {
	for _, p := range All() {
		want := projection.Offsets{}
		for _, topic := range p.Topics() {
			for tp, off := range end {
				if tp.Topic == topic && off > 0 {
					want[tp] = off - 1
				}
			}
		}
		if err := s.runners[p.Name()].WaitFor(ctx, want); err != nil {
			return err
		}
	}
	return nil
}
