package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/causeway-dev/causeway/kafka"
)

// Config is a load generator run.
type Config struct {
	// Target is the API's base URL (http://host:port).
	Target string
	// Rate is the open-loop rate in orders per second (Max false).
	Rate float64
	// Max runs closed loop: Concurrency clients send back to back.
	Max         bool
	Concurrency int
	// Duration is how long orders are sent.
	Duration time.Duration
	// Mix is the weighted set of paths (ParseMix).
	Mix *Mix
	// AuthToken is sent as a bearer token when set.
	AuthToken string
	// Kafka is the client of the terminal observer; no brokers: terminal
	// events are not observed.
	Kafka kafka.ClientConfig
	// Drain bounds the wait, after the last send, for every accepted order
	// to be terminal.
	Drain time.Duration
	// ReadSample is how many accepted orders are polled on GET
	// /v1/orders/{id} for the place → read model latency (0: none).
	ReadSample int
	// MaxInFlight caps open-loop requests in flight; a send over the cap
	// waits (its latency still counts from its scheduled time).
	MaxInFlight int
	// Users is the number of distinct userIds (the orders topic's key).
	Users int
	// RequestTimeout bounds one HTTP request.
	RequestTimeout time.Duration
	// Progress receives the progress display (nil: none); TTY redraws one
	// line in place instead of printing a line per second.
	Progress io.Writer
	TTY      bool
	// HTTPClient overrides the client built from the settings above.
	HTTPClient *http.Client
}

// Defaults of Config.
const (
	DefaultConcurrency = 32
	DefaultDrain       = 60 * time.Second
	DefaultReadSample  = 50
	DefaultMaxInFlight = 2048
	DefaultUsers       = 1000
)

// Validate reports every problem of c, joined.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--target %q: want http://host:port", c.Target))
	}
	if c.Max {
		if c.Concurrency < 1 {
			errs = append(errs, errors.New("--concurrency must be ≥ 1"))
		}
	} else if c.Rate <= 0 || c.Rate > 1e6 {
		errs = append(errs, errors.New("--rate must be in (0, 1000000] (or use --max)"))
	}
	if c.Duration <= 0 || c.Duration > 24*time.Hour {
		errs = append(errs, errors.New("--duration must be in (0, 24h]"))
	}
	if c.Mix == nil {
		errs = append(errs, errors.New("no --mix"))
	}
	if c.Drain < 0 {
		errs = append(errs, errors.New("--drain must be ≥ 0"))
	}
	if c.ReadSample < 0 {
		errs = append(errs, errors.New("--read-sample must be ≥ 0"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, errors.New("--max-in-flight must be ≥ 1"))
	}
	if c.Users < 1 {
		errs = append(errs, errors.New("--users must be ≥ 1"))
	}
	return errors.Join(errs...)
}
