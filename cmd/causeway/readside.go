package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
)

// readServiceName is the read service (CQRS read side): its database is
// DATA-DIR/read.db, or the schema read_service under --postgres. It runs
// where the order service runs (its queries serve GET /v1/orders/{id} and
// GET /v1/users/{userId}/orders), or alone with `serve --services read`.
// It is not in serviceNames: it has no consumer group and no outbox.
const readServiceName = "read"

// readSide is the read service of a platform.
type readSide struct {
	svc   *readmodel.Service
	db    *sqldb.DB
	kopts []kgo.Opt
	log   *slog.Logger
	// caughtUp is set once the projections applied every record that was
	// in the topics when the service started (or after readyTimeout):
	// until then /readyz answers 503, so that a restarted process does
	// not answer GET /v1/orders/{id} from a model behind its last run.
	caughtUp atomic.Bool
}

// readCatchUpTimeout bounds how long readiness waits for the initial
// catch-up (a poisoned partition must not keep a process unready).
const readCatchUpTimeout = 30 * time.Second

// openReadSide opens and migrates the read service's database and sets
// its projections up. The event store of the order service, when this
// process runs it, resolves consistency tokens.
func (p *platform) openReadSide(ctx context.Context, open func(string, func(*sqldb.DB) error) (*sqldb.DB, error),
	codec *event.Codec, kopts []kgo.Opt, log *slog.Logger) error {
	db, err := open(readServiceName, func(db *sqldb.DB) error { return readmodel.Migrate(ctx, db) })
	if err != nil {
		return err
	}
	opts := []readmodel.Option{
		readmodel.WithLogger(log.With("service", readServiceName)),
		readmodel.WithRunnerOptions(projection.WithKafkaOpts(kopts...)),
	}
	if p.orders != nil {
		opts = append(opts, readmodel.WithResolver(readmodel.EventStoreResolver(p.orders.Store())))
	}
	svc, err := readmodel.New(ctx, db, codec, opts...)
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("read service: %w", err)
	}
	p.read = &readSide{svc: svc, db: db, kopts: kopts, log: log.With("service", readServiceName)}
	return nil
}

// startReadSide runs the projections until runCtx ends (Drain waits for
// them with the consumers).
func (p *platform) startReadSide(runCtx context.Context) {
	if p.read == nil {
		return
	}
	p.read.svc.Start(runCtx)
	p.runnersWG.Go(p.read.svc.Wait)
	p.runnersWG.Go(func() { p.read.catchUp(runCtx) })
}

// catchUp waits until the projections reach the topics' ends as of now.
func (rs *readSide) catchUp(ctx context.Context) {
	defer rs.caughtUp.Store(true)
	ctx, cancel := context.WithTimeout(ctx, readCatchUpTimeout)
	defer cancel()
	cl, err := kgo.NewClient(rs.kopts...)
	if err != nil {
		rs.log.Warn("read service: catch-up: kafka client", "err", err)
		return
	}
	defer cl.Close()
	topics := map[string]bool{}
	for _, p := range readmodel.All() {
		for _, t := range p.Topics() {
			topics[t] = true
		}
	}
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, slices.Sorted(maps.Keys(topics))...)
	if err != nil {
		rs.log.Warn("read service: catch-up: end offsets", "err", err)
		return
	}
	end := map[projection.TopicPartition]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			end[projection.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
		}
	})
	start := time.Now()
	if err := rs.svc.CatchUp(ctx, end); err != nil {
		if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			rs.log.Warn("read service: not caught up; ready anyway", "after", readCatchUpTimeout, "err", err)
		}
		return
	}
	rs.log.Info("read service caught up", "took", time.Since(start).Round(time.Millisecond))
}

// readSideReady is part of platform.Ready.
func (p *platform) readSideReady() error {
	if p.read != nil && !p.read.caughtUp.Load() {
		return errors.New("read service catching up")
	}
	return nil
}

// closeReadSide closes the read service's database.
func (p *platform) closeReadSide() error {
	if p.read == nil {
		return nil
	}
	if err := p.read.db.Close(); err != nil {
		return fmt.Errorf("close read db: %w", err)
	}
	return nil
}
