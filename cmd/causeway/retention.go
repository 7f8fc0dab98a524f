package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/kafka"
)

// Flags of the retention settings (UpConfig and ServeConfig).
const (
	dedupRetentionFlag = "dedup-retention"
	noDedupPruneFlag   = "no-dedup-prune"
	topicConfigFlag    = "topic-config"
)

// addRetentionFlags registers --dedup-retention, --no-dedup-prune and
// --topic-config on f.
func addRetentionFlags(f *pflag.FlagSet, d *time.Duration, noPrune *bool, overrides *[]kafka.TopicOverride) {
	defMin, _ := dedupRetentionMin(platformTopics(kafka.DefaultPartitions))
	f.DurationVar(d, dedupRetentionFlag, consumer.DefaultPruneWindow,
		fmt.Sprintf("age beyond which a group's processed-event (dedup) rows are pruned; at least the longest retention of a topic the services read (by default %v, the replay topics) + %v",
			defMin, consumer.DefaultPruneMargin))
	f.BoolVar(noPrune, noDedupPruneFlag, false,
		"never prune processed-event (dedup) rows: required when --topic-config makes a topic the services read keep records forever (retention.ms=-1 or cleanup.policy=compact)")
	f.Var((*topicOverridesValue)(overrides), topicConfigFlag,
		"per-topic config over the defaults, PATTERN:KEY=VALUE[,KEY=VALUE...] (repeatable; in the environment separate entries with ';'), e.g. orders:retention.ms=30d or 'dlq.*:retention.bytes=1GiB'; keys: "+
			strings.Join(kafka.OverridableConfigs, ", "))
}

// topicOverridesValue is the pflag.Value of --topic-config: each Set
// parses one or more overrides (separated by ';' or newlines, as
// CAUSEWAY_TOPIC_CONFIG gives them) and appends them.
type topicOverridesValue []kafka.TopicOverride

func (v *topicOverridesValue) String() string {
	parts := make([]string, len(*v))
	for i, o := range *v {
		parts[i] = o.String()
	}
	return strings.Join(parts, ";")
}

func (v *topicOverridesValue) Set(s string) error {
	for _, entry := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		o, err := kafka.ParseTopicOverride(entry)
		if err != nil {
			return err
		}
		*v = append(*v, o)
	}
	return nil
}

func (v *topicOverridesValue) Type() string { return "override" }

// checkRetention validates the retention settings before anything
// starts: the overrides must match topics, and the dedup window must
// outlast the topics' retention (or pruning be off).
func checkRetention(window time.Duration, noPrune bool, overrides []kafka.TopicOverride) error {
	specs, err := topicSpecs(platformTopics(kafka.DefaultPartitions), overrides)
	if err != nil {
		return err
	}
	if noPrune {
		return nil
	}
	_, _, err = dedupWindow(window, specs)
	return err
}

// dedupWindow resolves the dedup window (0: consumer.DefaultPruneWindow)
// and checks it against the longest retention of specs, which it returns
// too.
func dedupWindow(window time.Duration, specs []kafka.TopicSpec) (time.Duration, time.Duration, error) {
	if window == 0 {
		window = consumer.DefaultPruneWindow
	}
	retention, err := dedupRetentionMin(specs)
	if err == nil {
		err = consumer.CheckPruneWindow(window, retention, consumer.DefaultPruneMargin)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("--%s: %w", dedupRetentionFlag, err)
	}
	return window, retention, nil
}

// topicSpecs applies the operator's overrides to base, the topics a
// command ensures.
func topicSpecs(base []kafka.TopicSpec, overrides []kafka.TopicOverride) ([]kafka.TopicSpec, error) {
	specs, err := kafka.ApplyOverrides(base, overrides...)
	if err != nil {
		return nil, fmt.Errorf("--%s: %w", topicConfigFlag, err)
	}
	return specs, nil
}

// ErrDedupForever reports dedup pruning asked for while a topic the
// services read keeps records forever: a pruned row would let such a
// record, redelivered (a group's offsets reset, a replay), be handled
// twice.
var ErrDedupForever = errors.New("dedup rows cannot be pruned")

// dedupRetentionMin is the retention the dedup window must exceed: the
// longest time any topic a deduplicating consumer group reads keeps a
// record — the event and command topics and the replay topics (dead-letter
// topics are read only by the dlq store and the stuck-saga watcher, which
// are idempotent without dedup rows). A topic that keeps records forever
// gives an error wrapping ErrDedupForever.
func dedupRetentionMin(specs []kafka.TopicSpec) (time.Duration, error) {
	var longest time.Duration
	for _, s := range specs {
		if strings.HasPrefix(s.Name, kafka.DeadLetterPrefix) {
			continue
		}
		if s.KeepsForever() {
			why := "cleanup.policy=" + s.CleanupPolicy
			if s.Retention.Time == -1 {
				why = "retention.ms=-1"
			}
			return 0, fmt.Errorf("%w: topic %q keeps records forever (%s); run with --%s, or bound its retention",
				ErrDedupForever, s.Name, why, noDedupPruneFlag)
		}
		longest = max(longest, s.KeepsFor())
	}
	return longest, nil
}

// makePruners gives every unit a dedup pruner of its group (window: 0
// means consumer.DefaultPruneWindow), unless off; a window inside the
// longest retention of specs + margin is refused here, so the process
// does not start, as is pruning while one of specs keeps records forever.
func (p *platform) makePruners(window time.Duration, off bool, specs []kafka.TopicSpec) error {
	if off {
		p.log.Info("dedup pruning is off: processed-event rows are kept forever", "flag", "--"+noDedupPruneFlag)
		return nil
	}
	window, retention, err := dedupWindow(window, specs)
	if err != nil {
		return err
	}
	for _, u := range p.units {
		pr, err := consumer.NewPruner(u.db, u.runner.Group(), window,
			consumer.WithPruneRetention(retention),
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
// window ago (neither when pruning is off) (saga.Orchestrator.Prune: by then no reply to them can be
// read from a topic any more).
func (p *platform) runPruners(ctx context.Context) {
	for _, pr := range p.pruners {
		p.runnersWG.Go(func() { _ = pr.Run(ctx) })
	}
	if p.pruneWindow == 0 || p.orders == nil || p.orders.Orchestrator() == nil {
		// Pruning off (--no-dedup-prune): finished sagas are kept too.
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
