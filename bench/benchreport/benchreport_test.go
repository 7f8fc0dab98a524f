package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReport builds the section from a results directory and checks the
// ratios it computes.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "machine.txt", "date: 2026-12-03T12:00:00Z\ncommit: abc1234\nsubject: s\ngo: go1.26.8 linux/amd64\nnproc: 2\n"+
		"cpu: AMD EPYC\nmemory: 23.4 GiB\nos: Debian 12\npostgres: 15.1, fsync on\nload-before: 1.00 2.00 3.00\n"+
		"load-after: 4.00 5.00 6.00\nfinished: 2026-12-03T12:14:00Z\n")
	write(t, dir, "eventstore.txt", `goos: linux
BenchmarkAppend/sqlite/events=1-2         	   36488	     67322 ns/op	        63.47 cpu-µs/event	     15000 events/s
BenchmarkRawInsert/sqlite/events=1-2      	   87138	     28449 ns/op	        30.34 cpu-µs/event	     30000 events/s
BenchmarkAppendVsRawInsert/sqlite/events=1-2  100  5000 ns/op  0.6 append/raw  9000 append-events/s  15000 raw-events/s
PASS
`)
	write(t, dir, "consumerpeer.txt", `BenchmarkConsumerPeer/watermill-2   	       1	12405793743 ns/op	       120.0 cpu-us/event	         0 dups	      8000 events/s	         0 out-of-order
BenchmarkConsumerPeer/causeway-2    	       1	2656245942 ns/op	        30.00 cpu-us/event	         0 dups	     40000 events/s	      1429 events/tx	         0 out-of-order
`)
	write(t, dir, "embedded-max.loadgen.json", `{"mode":"max","concurrency":64,"duration":"20s","sent":9000,"accepted":9000,"achievedRate":450,
		"completedRate":600,"terminal":{"shipped":8000,"cancelled/payment_failed":1000},"latency":{"placeToTerminal":{"p99Ms":2500}}}`)
	write(t, dir, "embedded-max.check.json", `{"ok":true,"results":[{"name":"a","status":"PASS"},{"name":"b","status":"SKIP"}]}`)
	write(t, dir, "embedded-rate.loadgen.json", `{"mode":"open","requestedRate":1000,"duration":"10s","sent":10000,"accepted":9990,
		"rejected":{"503":10},"achievedRate":999,"completedRate":400,"latency":{"placeToTerminal":{"p50Ms":40,"p99Ms":250}}}`)
	write(t, dir, "embedded-rate.check.json", `{"ok":false,"results":[{"name":"orders-terminal","status":"FAIL","failures":3}]}`)
	write(t, dir, "embedded-rate.load.txt", "load-start: 1.50 1 1\nload-end: 2.50 2 2\n")

	run, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	md := run.Markdown("bench/results/x")
	for _, want := range []string{
		"commit `abc1234`", "1.00 2.00 3.00 before, 4.00 5.00 6.00 after", "2026-12-03T12:00:00Z–12:14:00 UTC",
		// 600 completed/s ÷ 3,000; p99 250 ms ÷ 100 ms.
		"| 600 | 0.20 | 250 | 2.50 | 999 accepted/s, 400 completed/s | max: PASS (1), skipped b; rate: **FAIL** orders-terminal |",
		"| embedded, 1,000/s for 10s | 1.50 → 2.50 | 10000 | 9990 | 10 | 0 |",
		// append ÷ raw 0.50, ÷ target 1.00; paired 0.60 → 1.20.
		"| sqlite, 1 | 15,000 | 30,000 | **0.50** | 1.00 | 63.5 vs 30.3 | **0.60** | 1.20 |",
		"| **causeway** | 40,000 | 30.0 | 0 | **5.00×** | 4.00× |",
		"Causeway ÷ Watermill = 5.00× by events/s: 1.25 of the 4× target.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

func TestSplice(t *testing.T) {
	doc := "# B\n\nintro\n" + Begin + "\nold\n" + End + "\n## Hand-written\n"
	out, err := Splice(doc, "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# B\n\nintro\n" + Begin + "\nnew\n" + End + "\n## Hand-written\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	if _, err := Splice("no markers", "x"); err == nil {
		t.Error("no error without markers")
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -1500: "-1,500"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
