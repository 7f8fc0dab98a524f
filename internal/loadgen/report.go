package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Summary is a latency distribution, in milliseconds.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
	Mean  float64 `json:"meanMs"`
}

// Summarize returns the distribution of ds (nearest-rank percentiles).
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Summary{Count: len(s), P50: ms(rank(0.50)), P95: ms(rank(0.95)), P99: ms(rank(0.99)),
		Max: ms(s[len(s)-1]), Mean: ms(sum / time.Duration(len(s)))}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Latencies are the measured distributions.
type Latencies struct {
	// Accept is from the scheduled send to the 202 answer.
	Accept Summary `json:"placeToAccepted"`
	// Terminal is from the scheduled send to the arrival of the order's
	// order.shipped or order.cancelled on the orders topic.
	Terminal Summary `json:"placeToTerminal"`
	// Read is from the scheduled send to GET /v1/orders/{id} first showing
	// the terminal status, for a sample of orders (polled).
	Read Summary `json:"placeToRead"`
}

// Report is the result of a run.
type Report struct {
	Target string `json:"target"`
	// Mode is "open" (fixed rate) or "max" (closed loop).
	Mode        string  `json:"mode"`
	Rate        float64 `json:"requestedRate,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	Mix         string  `json:"mix"`
	// Duration is the sending phase asked for; Elapsed the one measured
	// (first scheduled send to last answer).
	Duration string  `json:"duration"`
	Elapsed  float64 `json:"elapsedSeconds"`
	Sent     int     `json:"sent"`
	// AchievedRate is accepted orders per second of Elapsed.
	AchievedRate float64 `json:"achievedRate"`
	Accepted     int     `json:"accepted"`
	// Rejected counts answers other than 202, by HTTP status.
	Rejected map[string]int `json:"rejected"`
	// Errors counts requests without an answer (transport errors).
	Errors     int    `json:"errors"`
	FirstError string `json:"firstError,omitempty"`
	// Observed tells whether terminal events were observed (--brokers).
	Observed bool `json:"observed"`
	// Terminal counts accepted orders by observed outcome
	// ("shipped", "cancelled/payment_failed", …).
	Terminal map[string]int `json:"terminal"`
	// NotTerminal counts accepted orders with no terminal event seen
	// before the drain timeout.
	NotTerminal int `json:"notTerminal"`
	// Unexpected counts terminal orders whose outcome is not their path's.
	Unexpected int `json:"unexpected"`
	// CompletedRate is the throughput through the whole saga: terminal
	// orders per second from the first scheduled send to the last
	// terminal event observed (LastTerminal seconds after the first
	// send). Unlike AchievedRate it counts only orders that finished, and
	// the time they took to finish; 0 when nothing was observed.
	CompletedRate float64 `json:"completedRate"`
	LastTerminal  float64 `json:"lastTerminalSeconds"`
	// Drain is how long it took, after the last send, for every accepted
	// order to be terminal (or the drain timeout).
	Drain      float64   `json:"drainSeconds"`
	Latency    Latencies `json:"latency"`
	OrdersFile string    `json:"ordersFile,omitempty"`
}

// WriteText writes the report for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	mode := fmt.Sprintf("open loop at %g orders/s", r.Rate)
	if r.Mode == "max" {
		mode = fmt.Sprintf("closed loop (max), %d clients", r.Concurrency)
	}
	fmt.Fprintf(&b, "target        %s\n", r.Target)
	fmt.Fprintf(&b, "mode          %s for %s, mix %s\n", mode, r.Duration, r.Mix)
	fmt.Fprintf(&b, "sent          %d in %.2fs\n", r.Sent, r.Elapsed)
	fmt.Fprintf(&b, "achieved      %.1f accepted orders/s\n", r.AchievedRate)
	fmt.Fprintf(&b, "accepted      %d (202)\n", r.Accepted)
	fmt.Fprintf(&b, "rejected      %d%s\n", sum(r.Rejected), byKey(r.Rejected))
	fmt.Fprintf(&b, "errors        %d", r.Errors)
	if r.FirstError != "" {
		fmt.Fprintf(&b, " (first: %s)", r.FirstError)
	}
	b.WriteString("\n")
	if r.Observed {
		fmt.Fprintf(&b, "terminal      %d%s, not terminal %d, unexpected outcome %d (drain %.2fs)\n",
			sum(r.Terminal), byKey(r.Terminal), r.NotTerminal, r.Unexpected, r.Drain)
		fmt.Fprintf(&b, "completed     %.1f terminal orders/s (first send to last terminal event, %.2fs)\n", r.CompletedRate, r.LastTerminal)
	} else {
		b.WriteString("terminal      not observed (no --brokers)\n")
	}
	b.WriteString("latency (ms)             count      p50      p95      p99      max\n")
	for _, l := range []struct {
		name string
		s    Summary
	}{{"place → 202", r.Latency.Accept}, {"place → terminal", r.Latency.Terminal}, {"place → read model", r.Latency.Read}} {
		fmt.Fprintf(&b, "  %-20s %8d %8.1f %8.1f %8.1f %8.1f\n", l.name, l.s.Count, l.s.P50, l.s.P95, l.s.P99, l.s.Max)
	}
	if r.OrdersFile != "" {
		fmt.Fprintf(&b, "orders file   %s\n", r.OrdersFile)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func byKey(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	parts := []string{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
