package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/kafka"
)

// dedupRetentionFlag is the flag of UpConfig.DedupRetention / ServeConfig.DedupRetention.
const dedupRetentionFlag = "dedup-retention"

// addDedupRetentionFlag registers --dedup-retention on f.
func addDedupRetentionFlag(f *pflag.FlagSet, d *time.Duration) {
	f.DurationVar(d, dedupRetentionFlag, consumer.DefaultPruneWindow,
		fmt.Sprintf("age beyond which a group's processed-event (dedup) rows are pruned; at least the longest topic retention (%v, the replay topics) + %v",
			dedupRetentionMin(), consumer.DefaultPruneMargin))
}

// dedupRetentionMin is the retention the dedup window must exceed: the
// longest retention of any topic a service's group reads (its event or
// command topics, kafka.EventTopicRetention / CommandTopicRetention, and
// its replay topic, kept as long as dead letters).
func dedupRetentionMin() time.Duration {
	return max(kafka.EventTopicRetention, kafka.CommandTopicRetention, kafka.DeadLetterTopicRetention)
}

// makePruners gives every unit a dedup pruner of its group (window: 0
// means consumer.DefaultPruneWindow); a window inside the topics'
// retention + margin is refused here, so the process does not start.
func (p *platform) makePruners(window time.Duration) error {
	if window == 0 {
		window = consumer.DefaultPruneWindow
	}
	if err := consumer.CheckPruneWindow(window, dedupRetentionMin(), consumer.DefaultPruneMargin); err != nil {
		return fmt.Errorf("--%s: %w", dedupRetentionFlag, err)
	}
	for _, u := range p.units {
		pr, err := consumer.NewPruner(u.db, u.runner.Group(), window,
			consumer.WithPruneRetention(dedupRetentionMin()),
			consumer.WithPruneLogger(p.log.With("component", u.runner.Group()+"-prune")))
		if err != nil {
			return fmt.Errorf("--%s: %w", dedupRetentionFlag, err)
		}
		p.pruners = append(p.pruners, pr)
	}
	p.pruneWindow = window
	return nil
}

// runPruners prunes every unit's dedup rows hourly until ctx is done,
// and, under orchestration, the sagas that finished longer than the same
// window ago (saga.Orchestrator.Prune: by then no reply to them can be
// read from a topic any more).
func (p *platform) runPruners(ctx context.Context) {
	for _, pr := range p.pruners {
		p.runnersWG.Go(func() { _ = pr.Run(ctx) })
	}
	if p.orders == nil || p.orders.Orchestrator() == nil {
		return
	}
	o := p.orders.Orchestrator()
	log := p.log.With("component", "saga-prune")
	p.runnersWG.Go(func() {
		t := time.NewTicker(consumer.DefaultPruneInterval)
		defer t.Stop()
		for {
			n, err := o.Prune(ctx, time.Now().Add(-p.pruneWindow))
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("saga prune failed", "pruned", n, "err", err)
			case n > 0:
				log.Info("finished sagas pruned", "pruned", n, "window", p.pruneWindow)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
}
