package kafka

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrBadTopicOverride reports a topic override that cannot be parsed or
// applied: a malformed entry, a config key outside OverridableConfigs, a
// value of the wrong kind, or a pattern that matches no topic.
var ErrBadTopicOverride = errors.New("kafka: bad topic override")

// OverridableConfigs are the topic configs an operator may set per topic
// with a TopicOverride: those that bound what a topic keeps (retention,
// compaction and the segments both act on). Keys ending in ".ms" take a
// duration, keys ending in ".bytes" a size.
var OverridableConfigs = []string{
	"retention.ms",
	"retention.bytes",
	"cleanup.policy",
	"segment.ms",
	"segment.bytes",
	"delete.retention.ms",
	"min.compaction.lag.ms",
	"max.compaction.lag.ms",
	"min.cleanable.dirty.ratio",
}

// TopicOverride sets topic configs on the topics its pattern matches,
// over what their specs say (see ApplyOverrides). Its text form, parsed
// by ParseTopicOverride, is
//
//	PATTERN:KEY=VALUE[,KEY=VALUE...]
//
// e.g. "orders:retention.ms=30d", "dlq.*:retention.ms=-1,retention.bytes=1GiB"
// or "payments:cleanup.policy=compact,delete".
type TopicOverride struct {
	// Pattern is a topic name, or a prefix followed by "*" matching every
	// topic that starts with it ("dlq.*"; "*" matches every topic).
	Pattern string
	// Configs are Kafka topic configs (keys from OverridableConfigs) with
	// normalized values: milliseconds, bytes, a sorted cleanup policy.
	Configs map[string]string
}

// String gives the override in the form ParseTopicOverride reads.
func (o TopicOverride) String() string {
	keys := slices.Sorted(maps.Keys(o.Configs))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + o.Configs[k]
	}
	return o.Pattern + ":" + strings.Join(parts, ",")
}

// Matches reports whether the override applies to topic.
func (o TopicOverride) Matches(topic string) bool {
	if prefix, ok := strings.CutSuffix(o.Pattern, "*"); ok {
		return strings.HasPrefix(topic, prefix)
	}
	return topic == o.Pattern
}

// ParseTopicOverride parses "PATTERN:KEY=VALUE[,KEY=VALUE...]".
//
// Values: a ".ms" key takes milliseconds ("604800000"), a Go duration
// ("36h", "90m") or days ("30d"); a ".bytes" key takes bytes ("1048576")
// or a binary size ("512KiB", "64MiB", "1GiB", "1TiB"); retention.ms and
// retention.bytes also take -1 for unlimited. cleanup.policy takes
// "delete", "compact" or both ("compact,delete": an item without "="
// continues the previous list). min.cleanable.dirty.ratio takes a number
// from 0 to 1. Every problem is an error wrapping ErrBadTopicOverride.
func ParseTopicOverride(s string) (TopicOverride, error) {
	bad := func(format string, args ...any) (TopicOverride, error) {
		return TopicOverride{}, fmt.Errorf("%w: %q: %s", ErrBadTopicOverride, s, fmt.Sprintf(format, args...))
	}
	pattern, list, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || strings.TrimSpace(list) == "" {
		return bad("want PATTERN:KEY=VALUE[,KEY=VALUE...]")
	}
	pattern = strings.TrimSpace(pattern)
	name := strings.TrimSuffix(pattern, "*")
	if strings.Contains(name, "*") {
		return bad("pattern %q: \"*\" may only end it", pattern)
	}
	check := name
	if name != pattern {
		check += "x" // a prefix: only its characters must be legal
	}
	if err := ValidateTopicName(check); err != nil {
		return bad("pattern %q: not a topic name or a prefix followed by \"*\"", pattern)
	}
	o := TopicOverride{Pattern: pattern, Configs: map[string]string{}}
	last := ""
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		k, v, hasEq := strings.Cut(item, "=")
		if !hasEq {
			if last == "cleanup.policy" && item != "" {
				o.Configs[last] += "," + item
				continue
			}
			return bad("item %q: want KEY=VALUE", item)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !slices.Contains(OverridableConfigs, k) {
			return bad("config %q cannot be set per topic (settable: %s)", k, strings.Join(OverridableConfigs, ", "))
		}
		if _, dup := o.Configs[k]; dup {
			return bad("config %q given twice", k)
		}
		o.Configs[k] = v
		last = k
	}
	for k, v := range o.Configs {
		norm, err := normalizeConfig(k, v)
		if err != nil {
			return bad("%s: %v", k, err)
		}
		o.Configs[k] = norm
	}
	return o, nil
}

// normalizeConfig checks value v of config k and gives it in the form
// the broker reports it.
func normalizeConfig(k, v string) (string, error) {
	unlimited := k == "retention.ms" || k == "retention.bytes"
	switch {
	case k == "cleanup.policy":
		var ps []string
		for _, p := range strings.Split(v, ",") {
			p = strings.TrimSpace(p)
			if p != CleanupDelete && p != CleanupCompact {
				return "", fmt.Errorf("policy %q, want %q, %q or both", p, CleanupDelete, CleanupCompact)
			}
			if !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
		slices.Sort(ps)
		return strings.Join(ps, ","), nil
	case k == "min.cleanable.dirty.ratio":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return "", fmt.Errorf("%q, want a number from 0 to 1", v)
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case strings.HasSuffix(k, ".ms"):
		ms, err := parseMillis(v)
		if err != nil {
			return "", err
		}
		if ms < 0 && !(unlimited && ms == -1) {
			return "", fmt.Errorf("%q is negative%s", v, unlimitedHint(unlimited))
		}
		return strconv.FormatInt(ms, 10), nil
	default: // .bytes
		n, err := parseBytes(v)
		if err != nil {
			return "", err
		}
		if n < 0 && !(unlimited && n == -1) {
			return "", fmt.Errorf("%q is negative%s", v, unlimitedHint(unlimited))
		}
		if k == "segment.bytes" && n < 1<<14 {
			return "", fmt.Errorf("%q is below the 16KiB Kafka allows", v)
		}
		return strconv.FormatInt(n, 10), nil
	}
}

func unlimitedHint(unlimited bool) string {
	if unlimited {
		return " (-1 means unlimited)"
	}
	return ""
}

// parseMillis reads milliseconds, a Go duration or whole days ("30d").
func parseMillis(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > 1<<20 {
			return 0, fmt.Errorf("%q, want days as a whole number", v)
		}
		return n * 24 * time.Hour.Milliseconds(), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q, want milliseconds, a duration (36h, 90m) or days (30d)", v)
	}
	if d > 0 && d < time.Millisecond {
		return 0, fmt.Errorf("%q is less than a millisecond", v)
	}
	return d.Milliseconds(), nil
}

// byteUnits are the sizes parseBytes reads, binary as Kafka's docs use.
var byteUnits = []struct {
	suffix string
	n      int64
}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}

// parseBytes reads bytes or a binary size ("64MiB").
func parseBytes(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	for _, u := range byteUnits {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || n < 0 || n > (1<<62)/u.n {
				break
			}
			return n * u.n, nil
		}
	}
	return 0, fmt.Errorf("%q, want bytes or a size (512KiB, 64MiB, 1GiB, 1TiB)", v)
}

// ApplyOverrides returns specs with the overrides applied in order (a
// later override of the same key wins, so put broad patterns first):
// retention.ms and retention.bytes set the spec's Retention (bytes are
// per partition, as in Kafka), cleanup.policy its CleanupPolicy, and the
// other keys its Configs. The specs passed in are not modified. An
// override that matches none of the specs is an error wrapping
// ErrBadTopicOverride (a mistyped topic name must not pass silently), as
// is a spec the overrides make invalid.
func ApplyOverrides(specs []TopicSpec, overrides ...TopicOverride) ([]TopicSpec, error) {
	out := slices.Clone(specs)
	var errs []error
	for _, o := range overrides {
		matched := false
		for i := range out {
			if !o.Matches(out[i].Name) {
				continue
			}
			matched = true
			out[i] = applyOverride(out[i], o)
		}
		if !matched {
			errs = append(errs, fmt.Errorf("%w: %q matches no topic", ErrBadTopicOverride, o.Pattern))
		}
	}
	for _, s := range out {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrBadTopicOverride, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func applyOverride(s TopicSpec, o TopicOverride) TopicSpec {
	s.Configs = maps.Clone(s.Configs)
	if s.Configs == nil {
		s.Configs = map[string]*string{}
	}
	for k, v := range o.Configs {
		switch k {
		case "retention.ms":
			ms, _ := strconv.ParseInt(v, 10, 64)
			s.Retention.Time = time.Duration(ms) * time.Millisecond
			if ms == -1 {
				s.Retention.Time = -1
			}
			delete(s.Configs, k)
		case "retention.bytes":
			s.Retention.Bytes, _ = strconv.ParseInt(v, 10, 64)
			delete(s.Configs, k)
		case "cleanup.policy":
			s.CleanupPolicy = v
			delete(s.Configs, k)
		default:
			s.Configs[k] = &v
		}
	}
	return s
}

// KeepsForever reports whether the topic may keep a record without a time
// limit: unlimited retention.ms, or compaction (which keeps the latest
// record of every key however old it is).
func (s TopicSpec) KeepsForever() bool {
	return s.Retention.Time == -1 || strings.Contains(s.CleanupPolicy, CleanupCompact)
}

// KeepsFor is how long the topic keeps a record at most, for a topic that
// does not keep records forever: its retention time, or Kafka's default
// of 7 days when the spec leaves it to the broker.
func (s TopicSpec) KeepsFor() time.Duration {
	if s.Retention.Time > 0 {
		return s.Retention.Time
	}
	return KafkaDefaultRetention
}

// KafkaDefaultRetention is Kafka's default retention.ms (log.retention.hours=168).
const KafkaDefaultRetention = 7 * 24 * time.Hour
