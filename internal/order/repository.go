package order

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/outbox"
)

// Repository defaults.
const (
	// DefaultSnapshotEvery is how many events may follow the latest
	// snapshot before Create or Update saves a new one.
	DefaultSnapshotEvery = 50
	// DefaultMaxAttempts is how often Update runs its closure and appends
	// before it gives up on version conflicts.
	DefaultMaxAttempts = 10
)

// OutboxFunc returns the outbox messages to write in the same transaction
// as events, the envelopes about to be appended for o (o is the state after
// them). It is called once per append attempt, with the context of the
// Create or Update call (its trace span, if any, goes into the messages'
// traceparent).
type OutboxFunc func(ctx context.Context, o *Order, events []event.Envelope) ([]outbox.Message, error)

// Option configures a Repository.
type Option interface{ apply(*repoConfig) }

type repoConfig struct {
	snapshotEvery int
	maxAttempts   int
	outbox        OutboxFunc
	codec         *event.Codec
	logger        *slog.Logger
	cache         *StateCache
	afterCommit   func(func())
}

type optionFunc func(*repoConfig)

func (f optionFunc) apply(c *repoConfig) { f(c) }

// SnapshotEvery saves a snapshot once the stream is n or more events past
// its latest snapshot (default DefaultSnapshotEvery); n ≤ 0 never saves.
func SnapshotEvery(n int) Option { return optionFunc(func(c *repoConfig) { c.snapshotEvery = n }) }

// MaxAttempts bounds how often Update tries on version conflicts (default
// DefaultMaxAttempts; values below 1 mean 1).
func MaxAttempts(n int) Option { return optionFunc(func(c *repoConfig) { c.maxAttempts = max(n, 1) }) }

// WithOutbox makes every append also write fn's messages to the outbox, in
// the same transaction (eventstore.WithOutbox). Without it nothing is
// written to the outbox.
func WithOutbox(fn OutboxFunc) Option { return optionFunc(func(c *repoConfig) { c.outbox = fn }) }

// WithCodec decodes stored events with codec instead of one holding only
// the order events (RegisterEvents). Its registry must include them.
func WithCodec(codec *event.Codec) Option { return optionFunc(func(c *repoConfig) { c.codec = codec }) }

// WithStateCache starts loads from the state cached in c, when it holds
// the order, and puts every state the repository appends into c once it is
// committed: afterCommit registers the put to run after the commit of the
// write (sqldb.Tx.OnCommit, for a repository over one transaction); nil
// means the store's appends commit by themselves, and the put runs at once.
// A load served from the cache counts the snapshot distance from the
// cached version (a state kept in memory needs no snapshot).
func WithStateCache(c *StateCache, afterCommit func(func())) Option {
	return optionFunc(func(cfg *repoConfig) { cfg.cache, cfg.afterCommit = c, afterCommit })
}

// WithLogger logs failed snapshot saves and unreadable snapshots (default:
// discard).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *repoConfig) { c.logger = l }) }

// Repository loads and saves orders in an eventstore.Store, one stream per
// order (StreamID), with snapshots. It is safe for concurrent use; writers
// of one order are serialised by the store's expected-version check.
type Repository struct {
	store eventstore.Store
	cfg   repoConfig
}

// NewRepository returns a repository over store.
func NewRepository(store eventstore.Store, opts ...Option) *Repository {
	cfg := repoConfig{snapshotEvery: DefaultSnapshotEvery, maxAttempts: DefaultMaxAttempts}
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.codec == nil {
		reg := event.NewRegistry()
		if err := RegisterEvents(reg); err != nil {
			// Only an inconsistency in this package's own event
			// definitions can get here; its tests rule that out.
			panic(err)
		}
		cfg.codec = event.NewCodec(reg)
	}
	return &Repository{store: store, cfg: cfg}
}

// StreamID returns the event stream id of an order: "order-" + orderID.
func StreamID(orderID string) string { return "order-" + orderID }

// Result is the outcome of Create or Update.
type Result struct {
	// Order is the state after the change.
	Order *Order
	// Events are the appended envelopes; empty when the closure raised no
	// events (a no-op command), in which case nothing was written.
	Events []event.Envelope
	// Append is the store's answer (zero when nothing was appended); its
	// LastPosition can serve as a consistency token.
	Append eventstore.AppendResult
}

// Load returns the order's current state, from its latest snapshot plus the
// events after it. An order without events gives ErrNotFound.
func (r *Repository) Load(ctx context.Context, id string) (*Order, error) {
	o, _, err := r.load(ctx, id)
	return o, err
}

// LoadAt returns the order's state at time at: all its events whose
// timestamp is at or before at, folded (snapshots are not used, since
// they are cut by version, not time). ErrNotFound if there are none.
func (r *Repository) LoadAt(ctx context.Context, id string, at time.Time) (*Order, error) {
	recs, err := r.store.LoadAt(ctx, StreamID(id), at)
	if errors.Is(err, eventstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: order %q at %s: %w", ErrNotFound, id, at.Format(time.RFC3339), err)
	}
	if err != nil {
		return nil, fmt.Errorf("order: load %q at %s: %w", id, at.Format(time.RFC3339), err)
	}
	o := &Order{}
	if err := r.fold(o, recs); err != nil {
		return nil, err
	}
	return o, nil
}

// Create runs fn on a new, empty Order (fn normally calls Place) and
// appends the events it raised as the start of the order's stream, with md
// as their metadata. If the stream already exists it returns ErrExists. fn
// must raise at least one event, and the order's ID must be id (else
// ErrInvalid).
func (r *Repository) Create(ctx context.Context, id string, md event.Metadata, fn func(*Order) error) (Result, error) {
	o := &Order{}
	if err := fn(o); err != nil {
		return Result{}, err
	}
	if len(o.changes) == 0 {
		return Result{}, fmt.Errorf("%w: creating order %q raised no events", ErrInvalid, id)
	}
	if o.ID != id {
		return Result{}, fmt.Errorf("%w: creating order %q produced order %q", ErrInvalid, id, o.ID)
	}
	res, err := r.append(ctx, id, o, eventstore.NoStream, 0, md)
	if errors.Is(err, eventstore.ErrConflict) {
		return Result{}, fmt.Errorf("%w: order %q: %w", ErrExists, id, err)
	}
	return res, err
}

// Update loads the order, runs fn on it, and appends the events fn's
// commands raised, with md as their metadata, expecting the version it
// loaded. If another writer appended first (eventstore.ErrConflict) it
// waits a short random time, reloads and runs fn again, at most
// MaxAttempts times in all, then returns ErrTooManyConflicts; so fn must
// decide only from the *Order it is given and may run more than once. An
// error from fn is returned as is, and nothing is written. If fn raised no
// events, nothing is written and Result.Events is empty.
//
// Once the stream is SnapshotEvery events past its latest snapshot, a new
// snapshot is saved after the append; failing to save it is only logged.
func (r *Repository) Update(ctx context.Context, id string, md event.Metadata, fn func(*Order) error) (Result, error) {
	if res, done, err := r.updateCached(ctx, id, md, fn); done {
		return res, err
	}
	var lastErr error
	for attempt := range r.cfg.maxAttempts {
		if attempt > 0 {
			if err := sleepJitter(ctx, attempt); err != nil {
				return Result{}, fmt.Errorf("order: update %q: %w (after %w)", id, err, lastErr)
			}
		}
		o, snapVersion, err := r.load(ctx, id)
		if err != nil {
			return Result{}, err
		}
		base := o.Version
		if err := fn(o); err != nil {
			return Result{}, err
		}
		if len(o.changes) == 0 {
			return Result{Order: o}, nil
		}
		res, err := r.append(ctx, id, o, base, snapVersion, md)
		if errors.Is(err, eventstore.ErrConflict) {
			lastErr = err
			continue
		}
		return res, err
	}
	return Result{}, fmt.Errorf("%w: order %q, %d attempts: %w", ErrTooManyConflicts, id, r.cfg.maxAttempts, lastErr)
}

// updateCached is Update's optimistic first try with a state cache: fn
// runs on the cached state, with no read of the store at all, and its
// events are appended expecting the cached version. The store's version
// check makes that safe: if anything was appended after the cached state
// (another writer, or this transaction before its commit), the append is a
// conflict and writes nothing. done is false — Update then loads the
// stream and decides again — after such a conflict, and whenever fn
// raised no events or failed: a no-op or a refusal decided on an old state
// must be confirmed on the current one (the order may have moved on).
func (r *Repository) updateCached(ctx context.Context, id string, md event.Metadata, fn func(*Order) error) (Result, bool, error) {
	if r.cfg.cache == nil {
		return Result{}, false, nil
	}
	o, ok := r.cfg.cache.get(id)
	if !ok {
		return Result{}, false, nil
	}
	base := o.Version
	if err := fn(o); err != nil || len(o.changes) == 0 {
		return Result{}, false, nil
	}
	res, err := r.append(ctx, id, o, base, base, md)
	if errors.Is(err, eventstore.ErrConflict) {
		return Result{}, false, nil
	}
	return res, true, err
}

// append writes o's pending changes at expected, with outbox messages, and
// saves a snapshot when due. A conflict is returned unwrapped enough for
// errors.Is(err, eventstore.ErrConflict).
func (r *Repository) append(ctx context.Context, id string, o *Order, expected, snapVersion int64, md event.Metadata) (Result, error) {
	envs := make([]event.Envelope, 0, len(o.changes))
	for _, c := range o.changes {
		env, err := ToEnvelope(c, md)
		if err != nil {
			return Result{}, fmt.Errorf("order: %q: %w", id, err)
		}
		// Never store what a reader would reject.
		if _, err := r.cfg.codec.Encode(env); err != nil {
			return Result{}, fmt.Errorf("order: %q: %w", id, err)
		}
		envs = append(envs, env)
	}
	var opts []eventstore.AppendOption
	if r.cfg.outbox != nil {
		msgs, err := r.cfg.outbox(ctx, o, envs)
		if err != nil {
			return Result{}, fmt.Errorf("order: %q: outbox: %w", id, err)
		}
		opts = append(opts, eventstore.WithOutbox(msgs...))
	}
	res, err := r.store.Append(ctx, StreamID(id), expected, envs, opts...)
	if err != nil {
		return Result{}, fmt.Errorf("order: append to %q: %w", StreamID(id), err)
	}
	o.changes = nil
	o.Version = res.Version
	if c := r.cfg.cache; c != nil {
		state := o.clone()
		if r.cfg.afterCommit != nil {
			r.cfg.afterCommit(func() { c.put(state) })
		} else {
			c.put(state)
		}
	}
	if n := int64(r.cfg.snapshotEvery); n > 0 && res.Version-snapVersion >= n {
		r.saveSnapshot(ctx, o)
	}
	return Result{Order: o, Events: envs, Append: res}, nil
}

func (r *Repository) saveSnapshot(ctx context.Context, o *Order) {
	typ, data, err := o.Snapshot()
	if err == nil {
		err = r.store.SaveSnapshot(ctx, eventstore.Snapshot{
			StreamID: StreamID(o.ID), Version: o.Version, Type: typ, Data: data, CreatedAt: time.Now().UTC(),
		})
	}
	if err != nil {
		r.cfg.logger.WarnContext(ctx, "order: snapshot not saved", "order", o.ID, "version", o.Version, "err", err)
	}
}

// load returns the current state and the version of the snapshot it
// started from (0 if none).
func (r *Repository) load(ctx context.Context, id string) (*Order, int64, error) {
	stream := StreamID(id)
	if r.cfg.cache != nil {
		if o, ok := r.cfg.cache.get(id); ok {
			recs, err := r.store.Load(ctx, stream, o.Version)
			if err != nil {
				return nil, 0, fmt.Errorf("order: load %q after cached version %d: %w", stream, o.Version, err)
			}
			if err := r.fold(o, recs); err != nil {
				return nil, 0, err
			}
			return o, o.Version - int64(len(recs)), nil
		}
	}
	o := &Order{}
	var snapVersion int64
	snap, err := r.store.LoadSnapshot(ctx, stream)
	switch {
	case errors.Is(err, eventstore.ErrNoSnapshot):
	case err != nil:
		return nil, 0, fmt.Errorf("order: load snapshot of %q: %w", stream, err)
	default:
		s, err := FromSnapshot(snap.Type, snap.Data)
		if err != nil || s.Version != snap.Version {
			r.cfg.logger.WarnContext(ctx, "order: snapshot ignored", "stream", stream, "version", snap.Version, "err", err)
			break
		}
		o, snapVersion = s, snap.Version
	}
	recs, err := r.store.Load(ctx, stream, snapVersion)
	if errors.Is(err, eventstore.ErrNotFound) {
		return nil, 0, fmt.Errorf("%w: order %q: %w", ErrNotFound, id, err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("order: load %q: %w", stream, err)
	}
	if err := r.fold(o, recs); err != nil {
		return nil, 0, err
	}
	return o, snapVersion, nil
}

// fold upcasts, decodes and applies recs to o.
func (r *Repository) fold(o *Order, recs []eventstore.Record) error {
	for _, rec := range recs {
		var e Event
		env, err := r.cfg.codec.Upcast(rec.Event)
		switch {
		case errors.Is(err, event.ErrUnknownType):
			e = Unknown{Type: rec.Event.EventType, At: rec.Event.Timestamp}
		case err != nil:
			return fmt.Errorf("%w: %s version %d: %w", ErrBadEvent, rec.StreamID, rec.Version, err)
		default:
			if e, err = DecodeEvent(env); err != nil {
				return fmt.Errorf("%s version %d: %w", rec.StreamID, rec.Version, err)
			}
		}
		o.Apply(e)
		o.Version = rec.Version
	}
	return nil
}

// sleepJitter waits a random time in [0, 2ms·2^attempt), at most 50ms, or
// until ctx is done.
func sleepJitter(ctx context.Context, attempt int) error {
	ceiling := min(2*time.Millisecond<<min(attempt, 5), 50*time.Millisecond)
	t := time.NewTimer(rand.N(ceiling) + time.Microsecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
