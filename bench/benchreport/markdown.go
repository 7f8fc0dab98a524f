package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// The targets of DESIGN.md ("Performance targets").
const (
	TargetEmbeddedRate = 3000.0 // orders/s through the saga, embedded default
	TargetPostgresRate = 1000.0 // orders/s, PostgreSQL
	TargetP99Ms        = 100.0  // p99 place → terminal at 1,000 orders/s
	TargetAppendRatio  = 0.5    // event store append ÷ raw insert, same DB
	TargetWatermill    = 4.0    // consumer pipeline ÷ Watermill router
)

// platforms of the end-to-end runs, in table order.
var platforms = []struct{ key, name string }{
	{"embedded", "embedded (`causeway up`, SQLite NORMAL)"},
	{"syncwrites", "embedded `--sync-writes` (SQLite FULL, broker fsync)"},
	{"postgres", "PostgreSQL (`causeway broker` + `causeway serve --postgres`, fsync on)"},
}

// Markdown renders the run; results is the results directory as the
// document should name it.
func (r *Run) Markdown(results string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("\n## Latest `make bench` run (generated)\n\n")
	w("Run of %s–%s UTC on commit `%s` (%s); raw outputs in [`%s`](%s/). ",
		r.MachineValue("date"), clock(r.MachineValue("finished")), r.MachineValue("commit"), r.MachineValue("subject"), results, results)
	w("Machine: %s cores (`nproc`), %s, %s, %s, Go %s, PostgreSQL %s. ",
		r.MachineValue("nproc"), r.MachineValue("cpu"), r.MachineValue("memory"), r.MachineValue("os"),
		strings.TrimPrefix(r.MachineValue("go"), "go"), r.MachineValue("postgres"))
	w("**Load average (1, 5, 15 min) %s before, %s after** — the machine is shared, so absolute rates move with it; "+
		"each ratio below compares figures measured in this run.\n\n", r.MachineValue("load-before"), r.MachineValue("load-after"))
	r.e2e(&b)
	r.eventStore(&b)
	r.consumerPeer(&b)
	r.others(&b)
	return b.String()
}

func clock(ts string) string {
	if i := strings.IndexByte(ts, 'T'); i >= 0 {
		return strings.TrimSuffix(ts[i+1:], "Z")
	}
	return ts
}

func (r *Run) e2e(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if len(r.E2E) == 0 {
		w("### End to end\n\nNot run (BENCH_E2E was empty).\n\n")
		return
	}
	w("### End to end (`causeway loadgen`, default mix)\n\n")
	w("Each run on a fresh platform; `causeway check` after each one, with the dead-letter topics (`--brokers`). ")
	w("**orders/s** is the completed rate of the closed-loop run (`--max`): orders that reached their terminal event ÷ the time from ")
	w("the first send to the last terminal event. **p99** is place → terminal (the order's `order.shipped`/`order.cancelled` on the ")
	w("`orders` topic, from the scheduled send) of the open-loop run at the offered rate. Ratios are to the DESIGN.md targets: ")
	w("%s orders/s embedded, %s orders/s on PostgreSQL (≥ 1 meets them), p99 ≤ %s ms at 1,000 orders/s (≤ 1 meets it; "+
		"DESIGN.md sets it for the embedded default, shown for all three).\n\n", num(TargetEmbeddedRate), num(TargetPostgresRate), num(TargetP99Ms))
	w("| platform | orders/s at max | ÷ target | p99 at %s/s offered (ms) | ÷ %s ms | achieved at that rate | check |\n", rateLabel(r), num(TargetP99Ms))
	w("|---|---:|---:|---:|---:|---:|---|\n")
	for _, p := range platforms {
		mx, okM := r.E2E[p.key+"-max"]
		rt, okR := r.E2E[p.key+"-rate"]
		if !okM && !okR {
			continue
		}
		target := TargetEmbeddedRate
		if p.key == "postgres" {
			target = TargetPostgresRate
		}
		cells := []string{p.name, "–", "–", "–", "–", "–"}
		verdicts := []string{}
		if okM {
			cells[1] = num(mx.Load.CompletedRate)
			cells[2] = ratio(mx.Load.CompletedRate / target)
			verdicts = append(verdicts, "max: "+mx.Check.Verdict())
		}
		if okR {
			cells[3] = num1(rt.Load.Latency.Terminal.P99)
			cells[4] = ratio(rt.Load.Latency.Terminal.P99 / TargetP99Ms)
			cells[5] = fmt.Sprintf("%s accepted/s, %s completed/s", num(rt.Load.AchievedRate), num(rt.Load.CompletedRate))
			verdicts = append(verdicts, "rate: "+rt.Check.Verdict())
		}
		w("| %s | %s |\n", strings.Join(cells, " | "), strings.Join(verdicts, "; "))
	}
	w("\nEvery run in detail (latencies in ms, from the scheduled send; read model = `GET /v1/orders/{id}` showing the terminal status, sampled):\n\n")
	w("| run | load avg start → end | sent | accepted | rejected | errors | terminal | not terminal | unexpected | accepted/s | completed/s | terminal p50 / p95 / p99 / max | read model p50 / p99 | 202 p99 |\n")
	w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|\n")
	for _, p := range platforms {
		for _, mode := range []string{"max", "rate"} {
			e, ok := r.E2E[p.key+"-"+mode]
			if !ok {
				continue
			}
			l := e.Load
			label := fmt.Sprintf("%s, max %d clients", p.key, l.Concurrency)
			if l.Mode != "max" {
				label = fmt.Sprintf("%s, %s/s for %s", p.key, num(l.Rate), l.Duration)
			}
			if l.Mode == "max" {
				label += " for " + l.Duration
			}
			t := l.Latency.Terminal
			w("| %s | %s → %s | %d | %d | %d | %d | %d | %d | %d | %s | %s | %s / %s / %s / %s | %s / %s | %s |\n",
				label, first(e.LoadStart), first(e.LoadEnd), l.Sent, l.Accepted, total(l.Rejected), l.Errors, total(l.Terminal),
				l.NotTerminal, l.Unexpected, num(l.AchievedRate), num(l.CompletedRate),
				num1(t.P50), num1(t.P95), num1(t.P99), num1(t.Max), num1(l.Latency.Read.P50), num1(l.Latency.Read.P99),
				num1(l.Latency.Accept.P99))
		}
	}
	w("\n")
}

func rateLabel(r *Run) string {
	for _, e := range r.E2E {
		if e.Load.Mode != "max" && e.Load.Rate > 0 {
			return num(e.Load.Rate)
		}
	}
	return "1,000"
}

// first returns the 1-minute figure of a load average "a b c".
func first(load string) string {
	if f := strings.Fields(load); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func (r *Run) eventStore(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	if !r.has("BenchmarkAppend/") {
		return
	}
	w("### Event store append vs raw insert\n\n")
	w("`go test -run='^$' -bench='Append|RawInsert' -benchtime=2s ./eventstore/sqlstore/`. One op = one transaction of N events to a ")
	w("fresh stream; the reference inserts the same rows into a table with only a primary key, through the same DB handle. ")
	w("Target: append ≥ %.1f × raw (≥ 1 meets it in the ÷ target column). ", TargetAppendRatio)
	paired := r.has("BenchmarkAppendVsRawInsert/")
	if paired {
		w("*Paired* alternates one append op and one raw op in the same loop, so both see the same load; it is the figure to trust on a busy machine.")
	}
	w("\n\n")
	if paired {
		w("| database, events/tx | append events/s | raw events/s | append ÷ raw | ÷ target | CPU µs/event append vs raw | paired append ÷ raw | paired ÷ target |\n")
		w("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	} else {
		w("| database, events/tx | append events/s | raw events/s | append ÷ raw | ÷ target | CPU µs/event append vs raw |\n")
		w("|---|---:|---:|---:|---:|---:|\n")
	}
	for _, db := range []string{"sqlite", "postgres"} {
		for _, n := range []string{"1", "7"} {
			sub := db + "/events=" + n
			a, okA := r.Bench["BenchmarkAppend/"+sub]
			raw, okR := r.Bench["BenchmarkRawInsert/"+sub]
			if !okA || !okR {
				continue
			}
			q := a["events/s"] / raw["events/s"]
			w("| %s, %s | %s | %s | **%.2f** | %s | %.1f vs %.1f |", db, n, num(a["events/s"]), num(raw["events/s"]), q,
				ratio(q/TargetAppendRatio), a["cpu-µs/event"], raw["cpu-µs/event"])
			if paired {
				p := r.Bench["BenchmarkAppendVsRawInsert/"+sub]
				w(" **%.2f** | %s |", p["append/raw"], ratio(p["append/raw"]/TargetAppendRatio))
			}
			w("\n")
		}
	}
	w("\n")
}

func (r *Run) consumerPeer(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	wm, ok := r.Bench["BenchmarkConsumerPeer/watermill"]
	if !ok {
		return
	}
	w("### Consumer pipeline vs a Watermill router\n\n")
	w("`cd bench && go test -run='^$' -bench=. -benchtime=1x ./consumerpeer/`: the same 100,000 envelopes and the same per-event work on every side. ")
	w("Target: the Causeway runtime ≥ %g × Watermill.\n\n", TargetWatermill)
	w("| side | events/s | CPU µs/event | out of order | ÷ Watermill (events/s) | ÷ Watermill (CPU/event) |\n|---|---:|---:|---:|---:|---:|\n")
	for _, side := range []string{"raw", "naive", "franzbatch", "watermill", "causeway"} {
		s, ok := r.Bench["BenchmarkConsumerPeer/"+side]
		if !ok {
			continue
		}
		name := side
		if side == "causeway" {
			name = "**causeway**"
		}
		cpu := "–"
		if s["cpu-us/event"] > 0 {
			cpu = fmt.Sprintf("%.2f×", wm["cpu-us/event"]/s["cpu-us/event"])
		}
		w("| %s | %s | %.1f | %.0f | **%.2f×** | %s |\n", name, num(s["events/s"]), s["cpu-us/event"], s["out-of-order"],
			s["events/s"]/wm["events/s"], cpu)
	}
	if c, ok := r.Bench["BenchmarkConsumerPeer/causeway"]; ok {
		w("\nCauseway ÷ Watermill = %.2f× by events/s: %s of the %g× target.\n", c["events/s"]/wm["events/s"],
			ratio(c["events/s"]/wm["events/s"]/TargetWatermill), TargetWatermill)
	}
	w("\n")
}

func (r *Run) others(b *strings.Builder) {
	w := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	var rows []string
	if s, ok := r.Bench["BenchmarkDecodeVsReference/scanner"]; ok {
		if ref, ok := r.Bench["BenchmarkDecodeVsReference/reference"]; ok {
			rows = append(rows, fmt.Sprintf("| event decode (`./event/`, DecodeVsReference) | scanner %s ns/op | original decoder %s ns/op | **%.1f×** faster |",
				num(s["ns/op"]), num(ref["ns/op"]), ref["ns/op"]/s["ns/op"]))
		}
	}
	if p, ok := r.Bench["BenchmarkRelayVsRaw"]; ok {
		rows = append(rows, fmt.Sprintf("| outbox relay (`./outbox/`, RelayVsRaw, alternating) | relay %s msgs/s | raw produce %s msgs/s | **%.2f** |",
			num(p["relay-msgs/s"]), num(p["raw-msgs/s"]), p["relay/raw"]))
	}
	if p, ok := r.Bench["BenchmarkPipeline"]; ok {
		if n, ok := r.Bench["BenchmarkNaiveTxPerEvent"]; ok {
			rows = append(rows, fmt.Sprintf("| consumer pipeline (`./consumer/`) | pipeline %s events/s (%s events/tx) | naive, one tx per event, %s events/s | **%.1f×** |",
				num(p["events/s"]), num(p["events/tx"]), num(n["events/s"]), p["events/s"]/n["events/s"]))
		}
		if raw, ok := r.Bench["BenchmarkRawConsume"]; ok {
			rows = append(rows, fmt.Sprintf("| consumer pipeline vs raw consume (no database) | %s events/s | %s events/s | %.3f |",
				num(p["events/s"]), num(raw["events/s"]), p["events/s"]/raw["events/s"]))
		}
	}
	if len(rows) == 0 {
		return
	}
	w("### Other references\n\n| figure | measured | reference | ratio |\n|---|---|---|---:|\n%s\n\n", strings.Join(rows, "\n"))
}

func (r *Run) has(prefix string) bool {
	return slices.ContainsFunc(slices.Collect(maps.Keys(r.Bench)), func(k string) bool { return strings.HasPrefix(k, prefix) })
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// ratio formats a ratio to a target or reference.
func ratio(q float64) string {
	if math.IsNaN(q) || math.IsInf(q, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f", q)
}

// num formats v rounded, with thousands separators.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if v < 0 && s != "0" {
		return "-" + string(out)
	}
	return string(out)
}

// num1 formats a latency in ms: one decimal below 100, else rounded.
func num1(v float64) string {
	if v < 100 {
		return fmt.Sprintf("%.1f", v)
	}
	return num(v)
}
