package consumer

import (
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
	"go.opentelemetry.io/otel/trace"
)

type config struct {
	kafkaOpts       []kgo.Opt
	logger          *slog.Logger
	maxAttempts     int
	backoff         Backoff
	batchMax        int
	lanes           int
	middleware      []Middleware
	shutdownTimeout time.Duration
	maxPending      int
	tracer          trace.TracerProvider
	onRebalance     func(time.Duration)
	contracts       event.Contracts
	types           map[string]struct{} // nil: every type
}

// Opt configures a Runner.
type Opt interface{ apply(*config) }

type optFunc func(*config)

func (f optFunc) apply(c *config) { f(c) }

// WithKafkaOpts adds franz-go client options: seed brokers, SASL, TLS,
// client id, fetch sizes…. The runner sets the group, topics, balancer,
// manual commits and rebalance callbacks itself; do not override those.
func WithKafkaOpts(opts ...kgo.Opt) Opt {
	return optFunc(func(c *config) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

// WithContracts makes the runner check every decoded event against the
// contract of the topic it was read from (event.Contracts.Check): an
// event of a type the topic does not carry, or from a source that does
// not produce it, is dead-lettered at once, like an undecodable record
// (kind "contract", class "decode"), and never reaches the handler. A
// replayed or parked record is checked against its original topic.
// Topics without a contract are not checked.
func WithContracts(c event.Contracts) Opt { return optFunc(func(cfg *config) { cfg.contracts = c }) }

// WithEventTypes makes the runner hand its handler only events of these
// types: any other event, once decoded and checked against its topic's
// contract (so a malformed or forged record is still dead-lettered), is
// acknowledged at once, without a transaction, a dedup row or a handler
// call (Stats.Skipped). Use it when the handler ignores the other types
// of its topics — most consumers read a topic for a few of its types — so
// that they cost a decode instead of a share of a write transaction. An
// ignored event of a parked key is not parked (its handler would ignore
// it on release too); a replayed one is acknowledged the same way. With
// no types given (the default), every event reaches the handler.
func WithEventTypes(types ...string) Opt {
	return optFunc(func(c *config) {
		c.types = make(map[string]struct{}, len(types))
		for _, t := range types {
			c.types[t] = struct{}{}
		}
	})
}

// WithLogger sets the logger (nil, the default, discards).
func WithLogger(l *slog.Logger) Opt { return optFunc(func(c *config) { c.logger = l }) }

// WithMaxAttempts sets how many times a record is handed to the handler
// before it is dead-lettered (default 5, minimum 1).
func WithMaxAttempts(n int) Opt { return optFunc(func(c *config) { c.maxAttempts = n }) }

// WithBackoff sets the retry backoff: exponential from base, capped at max,
// with full jitter (default 100ms, 5s).
func WithBackoff(base, max time.Duration) Opt {
	return optFunc(func(c *config) { c.backoff = Backoff{Base: base, Max: max} })
}

// WithBatchMax caps how many records of one partition lane one round
// handles (default 500). On SQLite a group-commit transaction holds at most
// 4 × WithBatchMax records (plus at most one worker's round).
func WithBatchMax(n int) Opt { return optFunc(func(c *config) { c.batchMax = n }) }

// WithLanes sets how many key-hash lanes each partition splits its ready
// records into (default 1 on SQLite and 4 on PostgreSQL). On PostgreSQL
// each lane runs its own transaction, in parallel; on SQLite, which has one
// writer, all lane batches go through the group-commit writer.
func WithLanes(n int) Opt { return optFunc(func(c *config) { c.lanes = n }) }

// WithMiddleware adds middleware around the handler, inside the runner's
// own recover and dedup policies; the first is the outermost.
func WithMiddleware(mws ...Middleware) Opt {
	return optFunc(func(c *config) { c.middleware = append(c.middleware, mws...) })
}

// WithShutdownTimeout bounds how long a stop or a revocation waits for
// in-flight transactions before cancelling them (default 10s).
func WithShutdownTimeout(d time.Duration) Opt {
	return optFunc(func(c *config) { c.shutdownTimeout = d })
}

// WithMaxPending bounds the records one partition holds in memory while
// some of its keys wait for a retry; above it the partition stops taking
// new records until the backlog shrinks (default 10 × batch max × lanes).
func WithMaxPending(n int) Opt { return optFunc(func(c *config) { c.maxPending = n }) }

// WithTracerProvider makes the runner start a consumer span per handled
// record ("process TOPIC"), a child of the record's W3C traceparent
// header, and hand the handler the span's context (so the events it writes
// to an outbox continue the trace). nil or a noop provider, the default,
// turns tracing off: no span, no header parsing.
func WithTracerProvider(tp trace.TracerProvider) Opt {
	return optFunc(func(c *config) { c.tracer = tp })
}

// WithRebalanceObserver calls fn with the duration of each rebalance this
// member completes. A rebalance starts when the member's group session
// ends — the OnPartitionsRevoked callback franz-go makes at the end of
// every session, or OnPartitionsLost — or, for the first, when Run starts,
// and ends when the OnPartitionsAssigned callback that follows the next
// JoinGroup/SyncGroup returns (franz-go calls it after every sync, with
// nothing new assigned too). So it includes the runner's revocation work
// (in-flight transactions finishing, the synchronous offset commit), the
// group protocol round and the start of the new partitions' workers. With
// the cooperative-sticky balancer a member that gives partitions up goes
// through two such rounds (revoke, then rejoin), each observed. fn is
// called from franz-go's callback goroutine and must not block. Leaving the
// group (Run's shutdown) is not observed.
func WithRebalanceObserver(fn func(time.Duration)) Opt {
	return optFunc(func(c *config) { c.onRebalance = fn })
}
