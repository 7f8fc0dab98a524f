package main

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
)

func TestDedupRetentionFlagRefusesWindowInsideRetention(t *testing.T) {
	p := &platform{log: slog.New(slog.DiscardHandler)}
	if err := p.makePruners(8 * 24 * time.Hour); !errors.Is(err, consumer.ErrWindowTooShort) {
		t.Fatalf("8d window: err = %v, want ErrWindowTooShort (replay topics keep 14d)", err)
	}
	if err := p.makePruners(0); err != nil {
		t.Fatalf("default window: %v", err)
	}
	if got := newUpCmd().Flags().Lookup(dedupRetentionFlag); got == nil || got.DefValue != consumer.DefaultPruneWindow.String() {
		t.Fatalf("up --%s: %+v", dedupRetentionFlag, got)
	}
}
