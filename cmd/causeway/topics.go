package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/causeway-dev/causeway/kafka"
)

// ErrTopicsDrift is what `causeway topics --check` returns when a topic is
// missing or differs from its spec.
var ErrTopicsDrift = errors.New("topics differ from their specs")

// newTopicsCmd shows Causeway's topics as the broker holds them, next to
// their specs (the defaults with the --topic-config overrides).
func newTopicsCmd() *cobra.Command {
	var (
		cfg        kafka.ClientConfig
		overrides  []kafka.TopicOverride
		partitions int32
		output     string
		check      bool
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Show Causeway's topics: partitions, retention and compaction, against their specs",
		Long: `Show every topic Causeway uses (the event, command and reply topics, and each
consumer group's dlq.<group> and replay.<group>) as the broker holds it: the
partition count and the configs Causeway manages (retention.ms,
retention.bytes, cleanup.policy, segment.bytes and any --topic-config key),
next to the spec — the defaults with the --topic-config overrides given
here, as causeway up and causeway serve would apply them. A topic whose
configs differ is listed with each difference (broker -> spec); causeway up
and causeway serve set them at their next start. Nothing is changed here.

With --check the exit status is non-zero when a topic is missing or
differs, for a deployment check.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("topics: --output %q, want table or json", output)
			}
			specs, err := topicSpecs(serveTopics(partitions, -1), overrides)
			if err != nil {
				return fmt.Errorf("topics: %w", err)
			}
			if cfg.ClientID == "" {
				cfg.ClientID = "causeway-topics"
			}
			adm, err := kafka.NewAdmin(cfg)
			if err != nil {
				return fmt.Errorf("topics: %w", err)
			}
			defer adm.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			states, err := kafka.InspectTopics(ctx, adm, specs...)
			if err != nil {
				return fmt.Errorf("topics: %w", err)
			}
			if output == "json" {
				err = writeTopicsJSON(cmd.OutOrStdout(), states)
			} else {
				err = writeTopicsTable(cmd.OutOrStdout(), states)
			}
			if err != nil {
				return fmt.Errorf("topics: %w", err)
			}
			if check {
				var bad []string
				for _, st := range states {
					if !st.Matches() {
						bad = append(bad, st.Spec.Name)
					}
				}
				if len(bad) > 0 {
					return fmt.Errorf("topics: %w: %s", ErrTopicsDrift, strings.Join(bad, ", "))
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	addKafkaClientFlags(f, &cfg)
	f.Var((*topicOverridesValue)(&overrides), topicConfigFlag,
		"per-topic config over the defaults, as given to causeway up/serve (PATTERN:KEY=VALUE,...; repeatable)")
	f.Int32Var(&partitions, "partitions", kafka.DefaultPartitions, "the partition count the topics should have, as given to causeway serve")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.BoolVar(&check, "check", false, "exit non-zero when a topic is missing or differs from its spec")
	f.DurationVar(&timeout, "timeout", 20*time.Second, "give up after this long")
	return cmd
}

// topicJSON is one topic of `causeway topics -o json`.
type topicJSON struct {
	Topic      string            `json:"topic"`
	Exists     bool              `json:"exists"`
	Partitions int32             `json:"partitions"`
	Spec       topicSpecJSON     `json:"spec"`
	Configs    map[string]string `json:"configs,omitempty"`
	Drift      []driftJSON       `json:"drift,omitempty"`
	Matches    bool              `json:"matches"`
	Error      string            `json:"error,omitempty"`
}

type topicSpecJSON struct {
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs"`
}

type driftJSON struct {
	Key    string `json:"key"`
	Broker string `json:"broker"`
	Spec   string `json:"spec"`
}

func writeTopicsJSON(w io.Writer, states []kafka.TopicState) error {
	out := make([]topicJSON, 0, len(states))
	for _, st := range states {
		tj := topicJSON{Topic: st.Spec.Name, Exists: st.Exists, Partitions: st.Partitions, Configs: st.Configs, Matches: st.Matches(),
			Spec: topicSpecJSON{Partitions: st.Spec.Partitions, Configs: map[string]string{}}}
		for k, v := range st.Spec.TopicConfigs() {
			if v != nil {
				tj.Spec.Configs[k] = *v
			}
		}
		for _, d := range st.Drift {
			tj.Drift = append(tj.Drift, driftJSON{Key: d.Key, Broker: d.From, Spec: d.To})
		}
		if st.Err != nil {
			tj.Error = st.Err.Error()
		}
		out = append(out, tj)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Topics []topicJSON `json:"topics"`
	}{out})
}

func writeTopicsTable(w io.Writer, states []kafka.TopicState) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tRETENTION\tBYTES/PARTITION\tCLEANUP\tSTATE")
	for _, st := range states {
		state := "ok"
		switch {
		case st.Err != nil:
			state = "error: " + st.Err.Error()
		case !st.Exists:
			state = "missing"
		case st.Partitions != st.Spec.Partitions:
			state = fmt.Sprintf("partitions %d, spec %d", st.Partitions, st.Spec.Partitions)
		case len(st.Drift) > 0:
			var ds []string
			for _, d := range st.Drift {
				ds = append(ds, fmt.Sprintf("%s %s -> %s", d.Key, showConfig(d.Key, d.From), showConfig(d.Key, d.To)))
			}
			state = "differs: " + strings.Join(ds, "; ")
		}
		parts := "-"
		if st.Exists {
			parts = strconv.Itoa(int(st.Partitions))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Spec.Name, parts, showConfig("retention.ms", st.Configs["retention.ms"]),
			showConfig("retention.bytes", st.Configs["retention.bytes"]), dashIfEmpty(st.Configs["cleanup.policy"]), state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var extra []string
	for _, st := range states {
		for _, k := range slices.Sorted(maps.Keys(st.Configs)) {
			if k != "retention.ms" && k != "retention.bytes" && k != "cleanup.policy" && k != "segment.bytes" {
				extra = append(extra, fmt.Sprintf("%s %s=%s", st.Spec.Name, k, st.Configs[k]))
			}
		}
	}
	if len(extra) > 0 {
		_, err := fmt.Fprintf(w, "\nother managed configs:\n  %s\n", strings.Join(extra, "\n  "))
		return err
	}
	return nil
}

// showConfig renders a config value for people: milliseconds as a
// duration, bytes as a size, -1 as unlimited.
func showConfig(key, v string) string {
	if v == "" {
		return "-"
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return v
	case n == -1:
		return "unlimited"
	case strings.HasSuffix(key, ".ms"):
		d := time.Duration(n) * time.Millisecond
		if d%(24*time.Hour) == 0 {
			return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
		}
		return d.String()
	case strings.HasSuffix(key, ".bytes"):
		for _, u := range []struct {
			s string
			n int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
			if n >= u.n {
				if n%u.n == 0 {
					return strconv.FormatInt(n/u.n, 10) + u.s
				}
				return strconv.FormatFloat(float64(n)/float64(u.n), 'f', 1, 64) + u.s
			}
		}
		return v + "B"
	}
	return v
}

// dashIfEmpty gives s, or "-" for "".
func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
