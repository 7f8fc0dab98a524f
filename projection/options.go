package projection

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/event"
)

// PoisonPolicy says what a runner does with an event it cannot apply after
// its retries (or cannot decode because its type or version is unknown).
type PoisonPolicy int

const (
	// StopPartition (the default) records the event in projection_errors
	// and stops that partition at it: the checkpoint stays before the
	// event, the other partitions go on, Status reports the error and
	// WaitFor on the partition times out (stale). The read model stays
	// consistent — it is a correct prefix of the log — and after a fix and
	// a restart the runner retries the event and goes on.
	StopPartition PoisonPolicy = iota
	// SkipEvent records the event in projection_errors and moves the
	// checkpoint past it in the same transaction. The model goes on but
	// misses the event: rebuild it once the cause is fixed.
	SkipEvent
	// ParkKey records the event in projection_errors, stores it in
	// projection_parked and moves the checkpoint past it; the later events
	// of the same topic and record key are parked behind it (in order,
	// not applied), while the other keys of the partition go on. The model
	// lacks only that key's events from the failing one on; WaitFor is not
	// held up. Runner.ReplayParked applies the key's parked events once the
	// cause is fixed, Runner.DiscardParked drops them. Sound for models
	// that are keyed like their topics (order per key is all they rely
	// on); a rebuild parks into the shadow and the swap carries the
	// parked events over.
	ParkKey
)

// Option configures a Runner.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	kafkaOpts      []kgo.Opt
	log            *slog.Logger
	batchMax       int
	maxAttempts    int
	backoffMin     time.Duration
	backoffMax     time.Duration
	policy         PoisonPolicy
	dedup          bool
	partitionWatch time.Duration
	waitPoll       time.Duration
	leaderRetry    time.Duration
	contracts      event.Contracts
}

func defaultConfig() config {
	return config{
		log:            slog.New(slog.NewTextHandler(io.Discard, nil)),
		batchMax:       1000,
		maxAttempts:    3,
		backoffMin:     100 * time.Millisecond,
		backoffMax:     2 * time.Second,
		dedup:          true,
		partitionWatch: 10 * time.Second,
		waitPoll:       100 * time.Millisecond,
		leaderRetry:    time.Second,
	}
}

func (c config) validate() error {
	switch {
	case c.batchMax < 1:
		return fmt.Errorf("%w: batch max %d, want at least 1", ErrInvalid, c.batchMax)
	case c.maxAttempts < 1:
		return fmt.Errorf("%w: max attempts %d, want at least 1", ErrInvalid, c.maxAttempts)
	case c.backoffMin <= 0 || c.backoffMax < c.backoffMin:
		return fmt.Errorf("%w: backoff %v–%v", ErrInvalid, c.backoffMin, c.backoffMax)
	case c.partitionWatch <= 0 || c.waitPoll <= 0 || c.leaderRetry <= 0:
		return fmt.Errorf("%w: intervals must be positive", ErrInvalid)
	case c.policy != StopPartition && c.policy != SkipEvent && c.policy != ParkKey:
		return fmt.Errorf("%w: poison policy %d", ErrInvalid, c.policy)
	}
	return nil
}

// WithKafkaOpts adds franz-go options to the runner's client (and the
// rebuild's): at least kgo.SeedBrokers. The runner adds its own
// direct-partition consumption; group options are refused by franz-go.
func WithKafkaOpts(opts ...kgo.Opt) Option {
	return optionFunc(func(c *config) { c.kafkaOpts = append(c.kafkaOpts, opts...) })
}

// WithContracts makes the runner check every event read from Kafka
// against the contract of its topic (event.Contracts.Check): an event of
// a type the topic does not carry, or from a source that does not
// produce it, is recorded in projection_errors and skipped, like a
// malformed value, and never reaches Apply. Topics without a contract,
// and events replayed from a History, are not checked.
func WithContracts(c event.Contracts) Option {
	return optionFunc(func(cfg *config) { cfg.contracts = c })
}

// WithLogger sets the logger (nil discards).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) {
		if l != nil {
			c.log = l
		}
	})
}

// WithBatchMax caps the records applied in one transaction (default
// 1000): of one partition, or of the partitions of one poll that share a
// transaction.
func WithBatchMax(n int) Option { return optionFunc(func(c *config) { c.batchMax = n }) }

// WithRetry sets how often a failing event is tried in all (default 3)
// and the exponential backoff with full jitter between tries (default
// 100ms to 2s). While an event is retried its runner waits.
func WithRetry(maxAttempts int, min, max time.Duration) Option {
	return optionFunc(func(c *config) { c.maxAttempts, c.backoffMin, c.backoffMax = maxAttempts, min, max })
}

// WithPoisonPolicy sets what happens to an event that cannot be applied
// (default StopPartition).
func WithPoisonPolicy(p PoisonPolicy) Option { return optionFunc(func(c *config) { c.policy = p }) }

// WithoutDedup turns off the per-projection dedup of event ids. Only for
// projections whose Apply is idempotent by itself: the embedded broker can
// deliver a batch twice at new offsets after a crash, and a rebuild from a
// History overlaps the topics. Rebuild with a History requires dedup.
func WithoutDedup() Option { return optionFunc(func(c *config) { c.dedup = false }) }

// WithPartitionWatch sets how often the runner looks for new partitions of
// its topics (default 10s).
func WithPartitionWatch(d time.Duration) Option {
	return optionFunc(func(c *config) { c.partitionWatch = d })
}

// WithWaitPoll sets how often WaitFor re-reads the stored checkpoints when
// no commit of this runner woke it (default 100ms).
func WithWaitPoll(d time.Duration) Option { return optionFunc(func(c *config) { c.waitPoll = d }) }
