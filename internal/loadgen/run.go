package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// accepted is an order answered 202.
type accepted struct {
	id   string
	path Path
	at   time.Time // scheduled send
}

// run is the state of one Run.
type run struct {
	cfg    Config
	client *http.Client
	obs    *observer
	seq    atomic.Int64 // request number: user, product, currency

	sent, ok, failed atomic.Int64

	mu        sync.Mutex
	orders    []accepted
	rejected  map[string]int
	errors    int
	firstErr  string
	acceptLat []time.Duration
	readLat   []time.Duration

	readEvery int64
	readLeft  atomic.Int64
	readCtx   context.Context
	readWG    sync.WaitGroup
}

// Run sends orders as cfg says, waits (bounded by cfg.Drain) for the
// accepted ones to be terminal, and returns the report. A cancelled ctx
// stops sending and draining; the report covers what was done. Errors are
// for a run that could not start.
func Run(ctx context.Context, cfg Config) (*Report, []OrderRecord, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	r := &run{cfg: cfg, client: cfg.HTTPClient, rejected: map[string]int{}}
	if r.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = 0
		tr.MaxIdleConnsPerHost = max(cfg.MaxInFlight, cfg.Concurrency)
		r.client = &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
		defer tr.CloseIdleConnections()
	}
	if len(cfg.Kafka.Brokers) > 0 {
		obs, err := startObserver(ctx, cfg.Kafka)
		if err != nil {
			return nil, nil, fmt.Errorf("observe terminal events (--brokers %s): %w", strings.Join(cfg.Kafka.Brokers, ","), err)
		}
		r.obs = obs
		defer obs.close()
	}
	expected := int64(cfg.Rate * cfg.Duration.Seconds())
	if cfg.Max {
		expected = 0
	}
	r.readEvery = 100
	if expected > 0 && cfg.ReadSample > 0 {
		r.readEvery = max(1, expected/int64(cfg.ReadSample))
	}
	r.readLeft.Store(int64(cfg.ReadSample))
	readCtx, readCancel := context.WithCancel(ctx)
	defer readCancel()
	r.readCtx = readCtx

	prog := newProgress(cfg.Progress, cfg.TTY, cfg.Duration, expected, r)
	start := time.Now()
	if cfg.Max {
		r.closedLoop(ctx, start)
	} else {
		r.openLoop(ctx, start)
	}
	elapsed := time.Since(start)

	// Drain: every accepted order terminal, or the timeout.
	drainStart := time.Now()
	deadline := drainStart.Add(cfg.Drain)
	notTerminal := 0
	if r.obs != nil {
		prog.phase("draining")
		pending := r.snapshot()
		for ctx.Err() == nil {
			rest := pending[:0]
			for _, o := range pending {
				if _, ok := r.obs.get(o.id); !ok {
					rest = append(rest, o)
				}
			}
			pending = rest
			prog.setPending(len(pending))
			if len(pending) == 0 || time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		notTerminal = len(pending)
	}
	// The read-model pollers stop at the deadline at the latest.
	go func() {
		select {
		case <-time.After(time.Until(deadline)):
		case <-readCtx.Done():
		}
		readCancel()
	}()
	r.readWG.Wait()
	drain := time.Since(drainStart)
	prog.stop()

	rep := r.report(start, elapsed, drain, notTerminal)
	return rep, r.records(), nil
}

// openLoop sends at start + i/rate for every i within the duration,
// whatever the answers: a send that is late (the loop woke late, or
// MaxInFlight was reached) keeps its scheduled time.
func (r *run) openLoop(ctx context.Context, start time.Time) {
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	n := int64(r.cfg.Rate * r.cfg.Duration.Seconds())
	sem := make(chan struct{}, r.cfg.MaxInFlight)
	var wg sync.WaitGroup
	path := r.cfg.Mix // used by this goroutine only
	for i := int64(0); i < n; i++ {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		p := path.Next()
		wg.Go(func() {
			defer func() { <-sem }()
			r.send(ctx, p, at)
		})
	}
	wg.Wait()
}

// closedLoop runs Concurrency clients that send back to back until the
// duration has passed.
func (r *run) closedLoop(ctx context.Context, start time.Time) {
	end := start.Add(r.cfg.Duration)
	var mu sync.Mutex
	next := func() Path {
		mu.Lock()
		defer mu.Unlock()
		return r.cfg.Mix.Next()
	}
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				now := time.Now()
				if !now.Before(end) {
					return
				}
				r.send(ctx, next(), now)
			}
		})
	}
	wg.Wait()
}

// body is the POST /v1/orders request of the seq-th order on p.
func (r *run) body(p Path, seq int64) []byte {
	product := p.Product
	if product == "" {
		product = "p-" + strconv.FormatInt(seq%20+1, 10)
	}
	currency := [...]string{"USD", "EUR", "GBP"}[seq%3]
	return fmt.Appendf(nil, `{"userId":"u-lg-%d","items":[{"productId":%q,"quantity":1}],"currency":%q,"paymentMethod":%q,`+
		`"shippingAddress":{"name":"Load Gen","line1":"1 Main St","city":"Springfield","country":%q}}`,
		seq%int64(r.cfg.Users), product, currency, p.Method, p.Country)
}

// send places one order scheduled at at.
func (r *run) send(ctx context.Context, p Path, at time.Time) {
	seq := r.seq.Add(1) - 1
	r.sent.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.Target+"/v1/orders", bytes.NewReader(r.body(p, seq)))
	if err != nil {
		r.fail(err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if r.cfg.AuthToken != "" {
		req.Header.Set("Authorization", "Bearer "+r.cfg.AuthToken)
	}
	res, err := r.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			r.fail(err)
		}
		return
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	lat := time.Since(at)
	var ans struct {
		OrderID string `json:"orderId"`
	}
	if res.StatusCode != http.StatusAccepted || json.Unmarshal(b, &ans) != nil || ans.OrderID == "" {
		r.mu.Lock()
		r.rejected[strconv.Itoa(res.StatusCode)]++
		r.mu.Unlock()
		r.failed.Add(1)
		return
	}
	n := r.ok.Add(1)
	r.mu.Lock()
	r.orders = append(r.orders, accepted{id: ans.OrderID, path: p, at: at})
	r.acceptLat = append(r.acceptLat, lat)
	r.mu.Unlock()
	if (n-1)%r.readEvery == 0 && r.readLeft.Add(-1) >= 0 {
		r.readWG.Go(func() { r.pollRead(ans.OrderID, at) })
	}
}

// fail counts a request without an answer.
func (r *run) fail(err error) {
	r.failed.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors++
	if r.firstErr == "" {
		r.firstErr = err.Error()
	}
}

// readPoll is the shortest interval of the read-model polls. Later polls
// of an order wait a twentieth of the time since it was placed, so the
// latency is measured within 5% (or 5 ms) while a slow run is not swamped
// by its own polls: at a fixed 5 ms, 50 sampled orders taking seconds each
// sent thousands of GETs a second, which took CPU from the pipeline being
// measured and made it slower still.
const readPoll = 5 * time.Millisecond

// pollRead polls GET /v1/orders/{id} until it shows a terminal status, and
// records the time from at.
func (r *run) pollRead(id string, at time.Time) {
	for r.readCtx.Err() == nil {
		req, err := http.NewRequestWithContext(r.readCtx, http.MethodGet, r.cfg.Target+"/v1/orders/"+id, nil)
		if err != nil {
			return
		}
		if r.cfg.AuthToken != "" {
			req.Header.Set("Authorization", "Bearer "+r.cfg.AuthToken)
		}
		if res, err := r.client.Do(req); err == nil {
			var v struct {
				Status string `json:"status"`
			}
			derr := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&v)
			res.Body.Close()
			if derr == nil && res.StatusCode == http.StatusOK && (v.Status == "shipped" || v.Status == "cancelled") {
				lat := time.Since(at)
				r.mu.Lock()
				r.readLat = append(r.readLat, lat)
				r.mu.Unlock()
				return
			}
		}
		select {
		case <-r.readCtx.Done():
		case <-time.After(max(readPoll, time.Since(at)/20)):
		}
	}
}

// snapshot returns the accepted orders so far.
func (r *run) snapshot() []accepted {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]accepted(nil), r.orders...)
}

// records returns the accepted orders with their expected outcomes.
func (r *run) records() []OrderRecord {
	orders := r.snapshot()
	out := make([]OrderRecord, len(orders))
	for i, o := range orders {
		out[i] = OrderRecord{OrderID: o.id, Path: o.path.Name, Status: o.path.Status, Reason: o.path.Reason}
	}
	return out
}

// report builds the report.
func (r *run) report(start time.Time, elapsed, drain time.Duration, notTerminal int) *Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep := &Report{
		Target: r.cfg.Target, Mode: "open", Rate: r.cfg.Rate, Mix: r.cfg.Mix.String(),
		Duration: r.cfg.Duration.String(), Elapsed: elapsed.Seconds(),
		Sent: int(r.sent.Load()), Accepted: len(r.orders), Rejected: r.rejected,
		Errors: r.errors, FirstError: r.firstErr, Observed: r.obs != nil,
		Terminal: map[string]int{}, NotTerminal: notTerminal, Drain: drain.Seconds(),
	}
	if r.cfg.Max {
		rep.Mode, rep.Rate, rep.Concurrency = "max", 0, r.cfg.Concurrency
	}
	if elapsed > 0 {
		rep.AchievedRate = float64(len(r.orders)) / elapsed.Seconds()
	}
	var term []time.Duration
	var last time.Time
	if r.obs != nil {
		for _, o := range r.orders {
			t, ok := r.obs.get(o.id)
			if !ok {
				continue
			}
			if t.at.After(last) {
				last = t.at
			}
			rep.Terminal[t.outcome]++
			want := o.path.Status
			if o.path.Reason != "" {
				want += "/" + o.path.Reason
			}
			if t.outcome != want {
				rep.Unexpected++
			}
			term = append(term, t.at.Sub(o.at))
		}
	}
	if n := len(term); n > 0 {
		rep.LastTerminal = last.Sub(start).Seconds()
		rep.CompletedRate = completedRate(n, last.Sub(start))
	}
	rep.Latency = Latencies{Accept: Summarize(r.acceptLat), Terminal: Summarize(term), Read: Summarize(r.readLat)}
	return rep
}

// completedRate is n terminal orders over span, the time from the first
// scheduled send to the last terminal event (0 for an empty span).
func completedRate(n int, span time.Duration) float64 {
	if span <= 0 {
		return 0
	}
	return float64(n) / span.Seconds()
}
