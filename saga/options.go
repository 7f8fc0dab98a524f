package saga

import (
	"log/slog"
	"time"
)

// Defaults of the Orchestrator's options.
const (
	DefaultSource               = "saga-orchestrator"
	DefaultCompensationAttempts = 3
	DefaultTickInterval         = time.Second
	DefaultTickBatch            = 100
)

// Clock tells the time. The orchestrator reads it for deadlines and
// history; tests inject a fake one to drive timeouts without sleeping.
// Now must be safe for concurrent use.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now calls f.
func (f ClockFunc) Now() time.Time { return f() }

type config struct {
	logger       *slog.Logger
	clock        Clock
	source       string
	compAttempts int
	tickInterval time.Duration
	tickBatch    int
}

// Option configures an Orchestrator.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithClock sets the clock (default: the system clock).
func WithClock(clk Clock) Option { return optionFunc(func(c *config) { c.clock = clk }) }

// WithSource sets metadata.source of the commands (default DefaultSource).
func WithSource(s string) Option {
	return optionFunc(func(c *config) {
		if s != "" {
			c.source = s
		}
	})
}

// WithCompensationAttempts sets how often a compensation is sent in all
// before its timeouts make the saga failed (default
// DefaultCompensationAttempts). Each send has a new command id;
// participants must make compensations idempotent per business key (refund
// an order at most once) and answer "succeeded" for something already
// undone or never done.
func WithCompensationAttempts(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.compAttempts = n
		}
	})
}

// WithTickInterval sets how often Run looks for timed-out steps (default
// DefaultTickInterval).
func WithTickInterval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.tickInterval = d
		}
	})
}

// WithTickBatch sets how many timed-out sagas one Tick handles at most
// (default DefaultTickBatch).
func WithTickBatch(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.tickBatch = n
		}
	})
}
