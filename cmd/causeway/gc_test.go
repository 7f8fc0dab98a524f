package main

import (
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"testing"

	"github.com/spf13/pflag"
)

func TestApplyGC(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	orig := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(orig) })
	current := func() int { p := debug.SetGCPercent(100); debug.SetGCPercent(p); return p }
	parse := func(args ...string) (*pflag.FlagSet, int) {
		f := pflag.NewFlagSet("t", pflag.ContinueOnError)
		var pct int
		addGCFlag(f, &pct)
		if err := f.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f, pct
	}

	t.Run("no GOGC: the default applies", func(t *testing.T) {
		unsetenv(t, "GOGC")
		unsetenv(t, envName("gc-percent"))
		debug.SetGCPercent(100)
		f, pct := parse()
		if err := applyGC(f, pct, log); err != nil {
			t.Fatal(err)
		}
		if got := current(); got != defaultGCPercent {
			t.Fatalf("gc percent %d, want %d", got, defaultGCPercent)
		}
	})
	t.Run("GOGC wins over the default", func(t *testing.T) {
		t.Setenv("GOGC", "150")
		unsetenv(t, envName("gc-percent"))
		debug.SetGCPercent(150)
		f, pct := parse()
		if err := applyGC(f, pct, log); err != nil {
			t.Fatal(err)
		}
		if got := current(); got != 150 {
			t.Fatalf("gc percent %d, want GOGC's 150", got)
		}
	})
	t.Run("the flag wins over GOGC", func(t *testing.T) {
		t.Setenv("GOGC", "150")
		debug.SetGCPercent(150)
		f, pct := parse("--gc-percent=250")
		if err := applyGC(f, pct, log); err != nil {
			t.Fatal(err)
		}
		if got := current(); got != 250 {
			t.Fatalf("gc percent %d, want the flag's 250", got)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		f, _ := parse()
		if err := applyGC(f, -2, log); err == nil {
			t.Fatal("gc-percent -2 accepted")
		}
	})
}

// unsetenv removes key from the environment for the rest of the test.
func unsetenv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "") // restores the old value afterwards
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
