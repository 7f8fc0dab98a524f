package consumer

import (
	"errors"
	"math/rand/v2"
	"time"
)

// Retries are scheduled by the runner, not by a blocking middleware: a
// record whose handler failed waits in memory, together with the later
// records of its key, until its backoff has passed, while the partition's
// other keys go on. The partition's commit watermark stays below it.

// Backoff is exponential backoff with full jitter: the wait before attempt
// n+1 is uniformly random in [0, min(Max, Base·2^(n-1))].
type Backoff struct {
	Base, Max time.Duration
}

// Delay returns the wait after failed attempt n (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	if b.Base <= 0 {
		return 0
	}
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: a handler returning it has
// its record dead-lettered at once (attempts = 1). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
