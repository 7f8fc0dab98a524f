package main

import (
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// defaultGCPercent is the garbage collector's target of up and serve. The
// platform's live heap is small (tens of MB) and almost everything it
// allocates dies within one batch, so the Go default (100) collects ten
// times a second under load and costs about 4% of the CPU; 400 spends some
// memory (the heap may grow to five times the live data instead of twice)
// to collect about a quarter as often.
const defaultGCPercent = 400

// addGCFlag adds --gc-percent.
func addGCFlag(f *pflag.FlagSet, pct *int) {
	*pct = defaultGCPercent
	f.IntVar(pct, "gc-percent", *pct, "garbage collector target percentage (Go's GOGC); -1 turns the collector off. GOGC in the environment wins unless this flag is given")
}

// applyGC sets the collector's target from --gc-percent, unless GOGC is
// in the environment and the flag was given neither on the command line
// nor as CAUSEWAY_GC_PERCENT (the operator's GOGC wins over the default).
func applyGC(f *pflag.FlagSet, pct int, log *slog.Logger) error {
	if pct < -1 {
		return fmt.Errorf("gc-percent: %d, want -1 (off) or 0 or more", pct)
	}
	_, own := os.LookupEnv(envName("gc-percent"))
	if _, env := os.LookupEnv("GOGC"); env && !f.Changed("gc-percent") && !own {
		return nil
	}
	prev := debug.SetGCPercent(pct)
	if prev != pct {
		log.Debug("garbage collector target set", "gc_percent", pct, "was", prev)
	}
	return nil
}
