package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrTopicMismatch reports an existing topic that differs from its spec in
// a way EnsureTopics will not fix by itself (its partition count or
// replication factor). Changing the partition count of a keyed topic moves
// keys to other partitions, so it is left to an operator.
var ErrTopicMismatch = errors.New("kafka: topic does not match its spec")

// EnsureTopics makes every spec's topic exist as its spec says: it
// creates the missing ones with their configs, checks the existing ones
// and brings their configs to the spec's (see EnsureTopicsChanges, which
// also reports what it altered). An existing topic with another partition
// count, or another replication factor when the spec names one, is
// reported as an error wrapping ErrTopicMismatch; its partitions are never
// altered. All problems are returned joined; topics without a problem are
// created even if others fail. Safe to call concurrently from several
// processes: a topic created by someone else in the meantime is checked
// like any existing one.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs ...TopicSpec) error {
	_, err := EnsureTopicsChanges(ctx, adm, specs...)
	return err
}

// ConfigChange is one topic config EnsureTopicsChanges altered, or
// found different and could not alter, on an existing topic.
type ConfigChange struct {
	Topic, Key string
	// From is the value the broker had (its default when the topic did
	// not set the key), To the spec's.
	From, To string
	// Err is set when the principal may not describe or alter the
	// topic's configs (an authorization error): the topic keeps its
	// configs, which the caller should report as a warning — a cluster
	// whose configs are managed elsewhere, with the services' principals
	// allowed no more than reading and writing, is a legitimate setup.
	// Key, From and To are empty when the configs could not be read.
	Err error
}

// isAuthz reports an authorization error of the broker.
func isAuthz(err error) bool {
	return errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed)
}

// String gives the change as "topic key: from -> to" (with the error,
// when it could not be made).
func (c ConfigChange) String() string {
	s := fmt.Sprintf("%s %s: %s -> %s", c.Topic, c.Key, c.From, c.To)
	if c.Err != nil {
		s += " (not changed: " + c.Err.Error() + ")"
	}
	return s
}

// EnsureTopicsChanges is EnsureTopics, also returning the configs it
// altered on existing topics. The configs a spec manages — those of
// TopicSpec.TopicConfigs: retention, cleanup policy, segment size and any
// overrides — are set (IncrementalAlterConfigs) where the topic's differ;
// other configs of the topic are left as they are. A cleanup policy is
// compared as a set ("delete,compact" equals "compact,delete"). A
// principal not authorized to describe or alter the configs is not an
// error: the changes it could not make come back with Err set.
func EnsureTopicsChanges(ctx context.Context, adm *kadm.Client, specs ...TopicSpec) ([]ConfigChange, error) {
	return ensureTopics(ctx, adm, true, specs)
}

// EnsureTopicsExist is EnsureTopics without the config alignment: it
// creates the missing topics with their specs' configs and checks the
// partitions of the existing ones, leaving their configs as they are —
// for a process that does not own them (the standalone broker, whose
// topics' configs the serve processes set).
func EnsureTopicsExist(ctx context.Context, adm *kadm.Client, specs ...TopicSpec) error {
	_, err := ensureTopics(ctx, adm, false, specs)
	return err
}

func ensureTopics(ctx context.Context, adm *kadm.Client, align bool, specs []TopicSpec) ([]ConfigChange, error) {
	var errs []error
	names := make([]string, 0, len(specs))
	valid := make([]TopicSpec, 0, len(specs))
	for _, s := range specs {
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, s.Name)
		valid = append(valid, s)
	}
	if len(valid) == 0 {
		return nil, errors.Join(errs...)
	}
	details, err := listFresh(ctx, adm, names...)
	if err != nil {
		return nil, errors.Join(append(errs, fmt.Errorf("kafka: list topics: %w", err))...)
	}
	var created []string
	var existing []TopicSpec
	for _, s := range valid {
		d, ok := details[s.Name]
		if ok && d.Err == nil {
			if err := checkTopic(s, d); err != nil {
				errs = append(errs, err)
			} else {
				existing = append(existing, s)
			}
			continue
		}
		if ok && !errors.Is(d.Err, kerr.UnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("kafka: topic %q: %w", s.Name, d.Err))
			continue
		}
		resp, err := adm.CreateTopic(ctx, s.Partitions, s.ReplicationFactor, s.TopicConfigs(), s.Name)
		switch {
		case errors.Is(err, kerr.TopicAlreadyExists):
			created = append(created, s.Name) // created meanwhile: check below
		case err != nil:
			msg := ""
			if resp.ErrMessage != "" {
				msg = " (" + resp.ErrMessage + ")"
			}
			errs = append(errs, fmt.Errorf("kafka: create topic %q%s: %w", s.Name, msg, err))
		}
	}
	var changes []ConfigChange
	if align {
		changes, err = alignConfigs(ctx, adm, existing)
		errs = append(errs, err)
	}
	if len(created) > 0 {
		again, err := listFresh(ctx, adm, created...)
		if err != nil {
			return changes, errors.Join(append(errs, fmt.Errorf("kafka: list topics: %w", err))...)
		}
		for _, s := range valid {
			if d, ok := again[s.Name]; ok {
				if d.Err != nil {
					errs = append(errs, fmt.Errorf("kafka: topic %q: %w", s.Name, d.Err))
					continue
				}
				errs = append(errs, checkTopic(s, d))
			}
		}
	}
	return changes, errors.Join(errs...)
}

// alignConfigs sets the configs of existing topics that differ from
// their specs'.
func alignConfigs(ctx context.Context, adm *kadm.Client, specs []TopicSpec) ([]ConfigChange, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	current, err := adm.DescribeTopicConfigs(ctx, names...)
	var changes []ConfigChange
	if isAuthz(err) {
		for _, n := range names {
			changes = append(changes, ConfigChange{Topic: n, Err: fmt.Errorf("kafka: describe topic configs: %w", err)})
		}
		return changes, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: describe topic configs: %w", err)
	}
	var errs []error
	for _, s := range specs {
		rc, err := current.On(s.Name, nil)
		if err == nil {
			err = rc.Err
		}
		if isAuthz(err) {
			changes = append(changes, ConfigChange{Topic: s.Name, Err: fmt.Errorf("kafka: describe topic configs: %w", err)})
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("kafka: topic %q configs: %w", s.Name, err))
			continue
		}
		pending := diffConfigs(s, configMap(rc))
		if len(pending) == 0 {
			continue
		}
		alter := make([]kadm.AlterConfig, len(pending))
		for i, c := range pending {
			alter[i] = kadm.AlterConfig{Op: kadm.SetConfig, Name: c.Key, Value: &c.To}
		}
		resp, err := adm.AlterTopicConfigs(ctx, alter, s.Name)
		if err == nil {
			var r kadm.AlterConfigsResponse
			if r, err = resp.On(s.Name, nil); err == nil && r.Err != nil {
				err = r.Err
				if r.ErrMessage != "" {
					err = fmt.Errorf("%w (%s)", err, r.ErrMessage)
				}
			}
		}
		if isAuthz(err) {
			for _, c := range pending {
				c.Err = fmt.Errorf("kafka: alter topic configs: %w", err)
				changes = append(changes, c)
			}
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("kafka: topic %q: set configs %v: %w", s.Name, pending, err))
			continue
		}
		changes = append(changes, pending...)
	}
	return changes, errors.Join(errs...)
}

// configMap gives a described topic's configs by key.
func configMap(rc kadm.ResourceConfig) map[string]string {
	have := make(map[string]string, len(rc.Configs))
	for _, c := range rc.Configs {
		have[c.Key] = c.MaybeValue()
	}
	return have
}

// diffConfigs lists the configs spec s manages (TopicConfigs) whose value
// in have differs, sorted by key: From is have's, To the spec's.
func diffConfigs(s TopicSpec, have map[string]string) []ConfigChange {
	want := s.TopicConfigs()
	var out []ConfigChange
	for _, k := range slices.Sorted(maps.Keys(want)) {
		v := want[k]
		if v == nil || sameConfig(k, have[k], *v) {
			continue
		}
		out = append(out, ConfigChange{Topic: s.Name, Key: k, From: have[k], To: *v})
	}
	return out
}

// sameConfig compares two values of config k as the broker means them.
func sameConfig(k, a, b string) bool {
	if k != "cleanup.policy" {
		return a == b
	}
	split := func(s string) []string {
		var ps []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" && !slices.Contains(ps, p) {
				ps = append(ps, p)
			}
		}
		slices.Sort(ps)
		return ps
	}
	return slices.Equal(split(a), split(b))
}

// checkTopic compares an existing topic with its spec.
func checkTopic(s TopicSpec, d kadm.TopicDetail) error {
	var errs []error
	if got := int32(len(d.Partitions)); got != s.Partitions {
		hint := "increase it with kafka-topics --alter if keys may move partitions, or run with the existing count"
		if got > s.Partitions {
			hint = "partitions cannot be removed; run with the existing count"
		}
		errs = append(errs, fmt.Errorf("%w: topic %q has %d partitions, spec wants %d (%s)",
			ErrTopicMismatch, s.Name, got, s.Partitions, hint))
	}
	if s.ReplicationFactor > 0 {
		for _, p := range d.Partitions.Sorted() {
			if got := len(p.Replicas); got != int(s.ReplicationFactor) {
				errs = append(errs, fmt.Errorf("%w: topic %q partition %d has replication factor %d, spec wants %d",
					ErrTopicMismatch, s.Name, p.Partition, got, s.ReplicationFactor))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// listFresh lists topics with a metadata request sent to the broker.
// kadm's ListTopics otherwise answers from the kgo client's metadata cache
// (kept for MetadataMinAge, 5 s by default), which would hide a topic
// created a moment ago; asking for the authorized operations makes kadm
// bypass that cache.
func listFresh(ctx context.Context, adm *kadm.Client, topics ...string) (kadm.TopicDetails, error) {
	return adm.ListTopics(kadm.WithAuthorizedOps(ctx), topics...)
}
