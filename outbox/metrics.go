package outbox

import "time"

// Observer receives the relay's measurements, for example to feed
// Prometheus collectors (package metrics bridges them; outbox itself does
// not depend on a metrics library). Methods are called from the relay's
// goroutine, after each batch, and must not block. For the backlog gauge,
// call Relay.Backlog at scrape time.
type Observer interface {
	// Published is called for each row the broker acknowledged and the
	// relay deleted, with the time from the row's creation to the ack.
	Published(topic string, latency time.Duration)
	// Failed is called for each record the producer failed to deliver; the
	// row stays in the outbox and is retried.
	Failed(topic string, err error)
}

// WithObserver sets an Observer (default: none).
func WithObserver(o Observer) Option {
	return optionFunc(func(c *config) { c.observer = o })
}

// latencyStats keeps the last and the maximum relay latency.
type latencyStats struct {
	last, max time.Duration
}
