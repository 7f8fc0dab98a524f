package outbox

import (
	"context"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Defaults of the Relay's options.
const (
	DefaultPollInterval = 250 * time.Millisecond
	DefaultBatchSize    = 1000
	DefaultMinBackoff   = 50 * time.Millisecond
	DefaultMaxBackoff   = 5 * time.Second
	DefaultLockRetry    = time.Second
)

type config struct {
	logger     *slog.Logger
	observer   Observer
	poll       time.Duration
	batchSize  int
	minBackoff time.Duration
	maxBackoff time.Duration
	lockRetry  time.Duration
	lockKey    int64
	hasLockKey bool
	tracer     trace.TracerProvider
	// afterAck runs after the broker acknowledged a batch and before the
	// acknowledged rows are deleted; tests use it to simulate a crash there.
	afterAck func(ctx context.Context, ids []int64) error
}

// Option configures a Relay.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// PollInterval sets how often the relay looks for rows when nothing woke it
// (default DefaultPollInterval). In-process writers wake the relay through
// NotifyChannel; the poll finds rows committed by other processes.
func PollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.poll = d
		}
	})
}

// BatchSize sets how many rows the relay reads, publishes and deletes at a
// time (default DefaultBatchSize, at most 10000).
func BatchSize(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.batchSize = min(n, 10000)
		}
	})
}

// Backoff sets the bounds of the exponential backoff (with jitter) after a
// failed batch (default DefaultMinBackoff … DefaultMaxBackoff).
func Backoff(minDelay, maxDelay time.Duration) Option {
	return optionFunc(func(c *config) {
		if minDelay > 0 {
			c.minBackoff = minDelay
		}
		if maxDelay >= c.minBackoff {
			c.maxBackoff = maxDelay
		}
	})
}

// LockRetry sets how often a relay that is not the leader (PostgreSQL only)
// tries to take the leader lock (default DefaultLockRetry).
func LockRetry(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.lockRetry = d
		}
	})
}

// LockKey overrides the PostgreSQL advisory lock key that elects the
// publishing relay (default: a hash of the schema name, so each schema's
// outbox has its own leader).
func LockKey(key int64) Option {
	return optionFunc(func(c *config) { c.lockKey, c.hasLockKey = key, true })
}
