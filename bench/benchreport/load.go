package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Run is what one make bench run left in its results directory.
type Run struct {
	// Machine holds machine.txt's "key: value" lines, in order.
	Machine []KV
	// Bench maps a benchmark's name (without the -GOMAXPROCS suffix) to
	// its metrics by unit ("ns/op", "events/s", …).
	Bench map[string]map[string]float64
	// E2E maps "<platform>-<mode>" (embedded-max, postgres-rate, …) to the
	// end-to-end run.
	E2E map[string]E2E
}

// KV is one line of machine.txt.
type KV struct{ Key, Value string }

// MachineValue returns the value of key in Machine ("" if absent).
func (r *Run) MachineValue(key string) string {
	for _, kv := range r.Machine {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}

// E2E is one end-to-end run: causeway loadgen's report, causeway check's
// verdict and the load average around the load.
type E2E struct {
	Load      Loadgen
	Check     Check
	LoadStart string
	LoadEnd   string
}

// Summary is a latency distribution of loadgen's report, in ms.
type Summary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

// Loadgen is the part of causeway loadgen's JSON report used here.
type Loadgen struct {
	Mode          string         `json:"mode"`
	Rate          float64        `json:"requestedRate"`
	Concurrency   int            `json:"concurrency"`
	Duration      string         `json:"duration"`
	Elapsed       float64        `json:"elapsedSeconds"`
	Sent          int            `json:"sent"`
	AchievedRate  float64        `json:"achievedRate"`
	Accepted      int            `json:"accepted"`
	Rejected      map[string]int `json:"rejected"`
	Errors        int            `json:"errors"`
	Observed      bool           `json:"observed"`
	Terminal      map[string]int `json:"terminal"`
	NotTerminal   int            `json:"notTerminal"`
	Unexpected    int            `json:"unexpected"`
	CompletedRate float64        `json:"completedRate"`
	LastTerminal  float64        `json:"lastTerminalSeconds"`
	Latency       struct {
		Accept   Summary `json:"placeToAccepted"`
		Terminal Summary `json:"placeToTerminal"`
		Read     Summary `json:"placeToRead"`
	} `json:"latency"`
}

// Check is causeway check's JSON report.
type Check struct {
	OK      bool `json:"ok"`
	Results []struct {
		Name     string `json:"name"`
		Status   string `json:"status"`
		Failures int    `json:"failures"`
	} `json:"results"`
}

// Verdict is "PASS (n invariants, k skipped)" or the failing names.
func (c Check) Verdict() string {
	var failed, skipped []string
	for _, r := range c.Results {
		switch r.Status {
		case "FAIL":
			failed = append(failed, r.Name)
		case "SKIP":
			skipped = append(skipped, r.Name)
		}
	}
	if len(c.Results) == 0 {
		return "not run"
	}
	if !c.OK || len(failed) > 0 {
		return "**FAIL** " + strings.Join(failed, ", ")
	}
	s := fmt.Sprintf("PASS (%d)", len(c.Results)-len(skipped))
	if len(skipped) > 0 {
		s += ", skipped " + strings.Join(skipped, ", ")
	}
	return s
}

// Load reads a results directory.
func Load(dir string) (*Run, error) {
	r := &Run{Bench: map[string]map[string]float64{}, E2E: map[string]E2E{}}
	m, err := os.Open(filepath.Join(dir, "machine.txt"))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	sc := bufio.NewScanner(m)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			r.Machine = append(r.Machine, KV{k, v})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for _, name := range []string{"codec", "eventstore", "outbox", "consumer", "consumerpeer"} {
		f, err := os.Open(filepath.Join(dir, name+".txt"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, err
		}
		err = ParseBench(f, r.Bench)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s.txt: %w", name, err)
		}
	}
	loads, err := filepath.Glob(filepath.Join(dir, "*.loadgen.json"))
	if err != nil {
		return nil, err
	}
	for _, p := range loads {
		run := strings.TrimSuffix(filepath.Base(p), ".loadgen.json")
		var e E2E
		if err := readJSON(p, &e.Load); err != nil {
			return nil, err
		}
		if err := readJSON(filepath.Join(dir, run+".check.json"), &e.Check); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if b, err := os.ReadFile(filepath.Join(dir, run+".load.txt")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "load-start: "); ok {
					e.LoadStart = v
				}
				if v, ok := strings.CutPrefix(line, "load-end: "); ok {
					e.LoadEnd = v
				}
			}
		}
		r.E2E[run] = e
	}
	return r, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

var procSuffix = regexp.MustCompile(`-\d+$`)

// ParseBench adds the benchmark result lines of go test output to into:
// "BenchmarkX/sub-2  N  v1 unit1  v2 unit2 …".
func ParseBench(rd io.Reader, into map[string]map[string]float64) error {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(f[0], "")
		metrics := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return fmt.Errorf("%s: metric %q: %w", name, f[i], err)
			}
			metrics[f[i+1]] = v
		}
		into[name] = metrics
	}
	return sc.Err()
}
