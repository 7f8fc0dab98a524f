package main

import (
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/kafka"
)

func TestDedupRetentionFlagRefusesWindowInsideRetention(t *testing.T) {
	p := &platform{log: slog.New(slog.DiscardHandler)}
	topics := platformTopics(kafka.DefaultPartitions)
	if err := p.makePruners(8*24*time.Hour, false, topics); !errors.Is(err, consumer.ErrWindowTooShort) {
		t.Fatalf("8d window: err = %v, want ErrWindowTooShort (replay topics keep 14d)", err)
	}
	if err := p.makePruners(0, false, topics); err != nil || p.pruneWindow != consumer.DefaultPruneWindow {
		t.Fatalf("default window: %v (window %v)", err, p.pruneWindow)
	}
	if got := newUpCmd().Flags().Lookup(dedupRetentionFlag); got == nil || got.DefValue != consumer.DefaultPruneWindow.String() {
		t.Fatalf("up --%s: %+v", dedupRetentionFlag, got)
	}

	// The dead-letter topics do not count (no deduplicating group reads
	// them); a replay topic kept longer does.
	longer, err := topicSpecs(topics, []kafka.TopicOverride{
		{Pattern: "dlq.*", Configs: map[string]string{"retention.ms": "-1"}},
		{Pattern: "replay.payment-service", Configs: map[string]string{"retention.ms": strconv.FormatInt((20 * 24 * time.Hour).Milliseconds(), 10)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := dedupRetentionMin(longer); err != nil || got != 20*24*time.Hour {
		t.Fatalf("dedupRetentionMin = %v, %v; want 20d", got, err)
	}
	p = &platform{log: slog.New(slog.DiscardHandler)}
	if err := p.makePruners(0, false, longer); !errors.Is(err, consumer.ErrWindowTooShort) {
		t.Fatalf("default window, a 20d replay topic: %v, want ErrWindowTooShort", err)
	}
	if err := p.makePruners(0, true, longer); err != nil || len(p.pruners) != 0 || p.pruneWindow != 0 {
		t.Fatalf("pruning off: %v, %d pruners, window %v; want none", err, len(p.pruners), p.pruneWindow)
	}
}
