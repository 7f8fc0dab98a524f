package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// ErrTopicMismatch reports an existing topic that differs from its spec in
// a way EnsureTopics will not fix by itself (its partition count or
// replication factor). Changing the partition count of a keyed topic moves
// keys to other partitions, so it is left to an operator.
var ErrTopicMismatch = errors.New("kafka: topic does not match its spec")

// EnsureTopics makes every spec's topic exist: it creates the missing ones
// with their configs and checks the existing ones. An existing topic with
// another partition count, or another replication factor when the spec
// names one, is reported as an error wrapping ErrTopicMismatch; it is never
// altered. Existing topics' configs are not checked. All problems are
// returned joined; topics without a problem are created even if others
// fail. Safe to call concurrently from several processes: a topic created
// by someone else in the meantime is checked like any existing one.
func EnsureTopics(ctx context.Context, adm *kadm.Client, specs ...TopicSpec) error {
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
		return errors.Join(errs...)
	}
	details, err := listFresh(ctx, adm, names...)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("kafka: list topics: %w", err))...)
	}
	var created []string
	for _, s := range valid {
		d, ok := details[s.Name]
		if ok && d.Err == nil {
			errs = append(errs, checkTopic(s, d))
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
	if len(created) > 0 {
		again, err := listFresh(ctx, adm, created...)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("kafka: list topics: %w", err))...)
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
	return errors.Join(errs...)
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
