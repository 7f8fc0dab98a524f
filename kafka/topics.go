package kafka

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Names of Causeway's topics. Event topics are keyed as the API contract
// says: TopicOrders by userId, the others by orderId. Command topics carry
// the orchestrator's commands to one service each; TopicSagaReplies carries
// every service's replies back to the orchestrator.
const (
	TopicOrders    = "orders"
	TopicPayments  = "payments"
	TopicInventory = "inventory"
	TopicShipping  = "shipping"

	TopicCommandsPayment   = "commands.payment"
	TopicCommandsInventory = "commands.inventory"
	TopicCommandsShipping  = "commands.shipping"
	TopicSagaReplies       = "saga.replies"

	// DeadLetterPrefix starts the name of every dead-letter topic; see
	// DeadLetterTopic.
	DeadLetterPrefix = "dlq."
)

// DefaultPartitions is the partition count of Causeway's topics unless
// configured otherwise. Six partitions let up to six instances of a
// consumer group share a topic and let one instance handle keys in
// parallel, while staying cheap on a small machine. The partition count of
// a keyed topic must not change once it holds data: keys would move to
// other partitions and per-key order would break.
const DefaultPartitions int32 = 6

// Retention budgets of the default topics: the total bytes one topic keeps
// (divided evenly among its partitions, since Kafka's retention.bytes is
// per partition) and how long it keeps records. With the eight fixed
// topics and ten dead-letter topics that is at most 544 MiB of retained
// records, which the embedded broker holds in memory. The event store, not
// the broker, is the long-term history.
const (
	EventTopicBytes      int64 = 64 << 20
	CommandTopicBytes    int64 = 32 << 20
	DeadLetterTopicBytes int64 = 16 << 20

	EventTopicRetention      = 7 * 24 * time.Hour
	CommandTopicRetention    = 7 * 24 * time.Hour
	DeadLetterTopicRetention = 14 * 24 * time.Hour
)

// Cleanup policies, the values of a topic's cleanup.policy.
const (
	CleanupDelete  = "delete"
	CleanupCompact = "compact"
)

// Retention bounds how much a topic keeps. A zero field leaves the broker's
// default (Kafka: unlimited bytes, 7 days); -1 means unlimited.
type Retention struct {
	// Bytes is the most one partition keeps, Kafka's retention.bytes.
	Bytes int64
	// Time is how long a record is kept, Kafka's retention.ms.
	Time time.Duration
}

// TopicSpec describes one topic as Causeway expects it to exist.
type TopicSpec struct {
	// Name is the topic's name: 1 to 249 characters of [a-zA-Z0-9._-].
	Name string
	// Partitions is the partition count; it must be at least 1.
	Partitions int32
	// ReplicationFactor is the number of replicas; -1 uses the broker's
	// default (the embedded broker has one node and always uses 1).
	ReplicationFactor int16
	// Retention bounds the records the topic keeps.
	Retention Retention
	// CleanupPolicy is CleanupDelete, CleanupCompact, both joined with a
	// comma, or empty for the broker's default (delete).
	CleanupPolicy string
	// Configs are further topic configs, passed to the broker as they are.
	// A key here wins over the same key derived from Retention or
	// CleanupPolicy.
	Configs map[string]*string
}

// Validate reports every problem of the spec, joined.
func (s TopicSpec) Validate() error {
	var errs []error
	if err := ValidateTopicName(s.Name); err != nil {
		errs = append(errs, err)
	}
	if s.Partitions < 1 {
		errs = append(errs, fmt.Errorf("topic %q: partitions %d, want at least 1", s.Name, s.Partitions))
	}
	if s.ReplicationFactor == 0 || s.ReplicationFactor < -1 {
		errs = append(errs, fmt.Errorf("topic %q: replication factor %d, want -1 (broker default) or at least 1", s.Name, s.ReplicationFactor))
	}
	if s.Retention.Bytes < -1 {
		errs = append(errs, fmt.Errorf("topic %q: retention bytes %d, want -1, 0 or more", s.Name, s.Retention.Bytes))
	}
	if s.Retention.Time < 0 && s.Retention.Time != -1 {
		errs = append(errs, fmt.Errorf("topic %q: retention time %v, want -1, 0 or more", s.Name, s.Retention.Time))
	}
	if s.CleanupPolicy != "" {
		for _, p := range strings.Split(s.CleanupPolicy, ",") {
			if p != CleanupDelete && p != CleanupCompact {
				errs = append(errs, fmt.Errorf("topic %q: cleanup policy %q, want %q, %q or both", s.Name, s.CleanupPolicy, CleanupDelete, CleanupCompact))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// TopicConfigs returns the configs to create the topic with: those derived
// from Retention and CleanupPolicy, overlaid with Configs.
func (s TopicSpec) TopicConfigs() map[string]*string {
	m := make(map[string]*string, 3+len(s.Configs))
	set := func(k, v string) { m[k] = &v }
	if s.Retention.Bytes != 0 {
		set("retention.bytes", strconv.FormatInt(s.Retention.Bytes, 10))
	}
	switch {
	case s.Retention.Time == -1:
		set("retention.ms", "-1")
	case s.Retention.Time > 0:
		set("retention.ms", strconv.FormatInt(s.Retention.Time.Milliseconds(), 10))
	}
	if s.CleanupPolicy != "" {
		set("cleanup.policy", s.CleanupPolicy)
	}
	for k, v := range s.Configs {
		m[k] = v
	}
	return m
}

// ValidateTopicName reports whether name is a legal Kafka topic name.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case len(name) > 249:
		return fmt.Errorf("topic name %q is longer than 249 characters", name)
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name %q: character %q is not one of [a-zA-Z0-9._-]", name, r)
		}
	}
	return nil
}

// DeadLetterTopic returns the dead-letter topic of a consumer group:
// "dlq.<group>". The group name must be usable in a topic name
// (see ValidateTopicName); DeadLetterTopicSpec checks it.
func DeadLetterTopic(group string) string { return DeadLetterPrefix + group }

// DeadLetterTopicSpec returns the spec of a consumer group's dead-letter
// topic with the given partition count and replication factor (-1 for the
// broker's default). It keeps DeadLetterTopicBytes for
// DeadLetterTopicRetention.
func DeadLetterTopicSpec(group string, partitions int32, replicationFactor int16) TopicSpec {
	return boundedSpec(DeadLetterTopic(group), partitions, replicationFactor, DeadLetterTopicBytes, DeadLetterTopicRetention)
}

// ReplayPrefix starts the name of every replay topic; see ReplayTopic.
const ReplayPrefix = "replay."

// ReplayTopic returns the replay topic of a consumer group:
// "replay.<group>". Only that group consumes it, so a dead letter replayed
// there reaches the group that failed and no other subscriber.
func ReplayTopic(group string) string { return ReplayPrefix + group }

// GroupTopicSpecs returns the specs of the per-group topics a consumer group
// needs besides the topics it reads: its dead-letter topic and its replay
// topic, both bounded like dead-letter topics.
func GroupTopicSpecs(group string, partitions int32, replicationFactor int16) []TopicSpec {
	return []TopicSpec{
		DeadLetterTopicSpec(group, partitions, replicationFactor),
		boundedSpec(ReplayTopic(group), partitions, replicationFactor, DeadLetterTopicBytes, DeadLetterTopicRetention),
	}
}

// DefaultTopics returns the specs of Causeway's fixed topics (events,
// orchestrator commands and replies; dead-letter topics come per group
// from DeadLetterTopicSpec), each with the given partition count and
// replication factor. Use DefaultPartitions and -1 for the embedded broker;
// a production cluster wants a replication factor of 3.
func DefaultTopics(partitions int32, replicationFactor int16) []TopicSpec {
	var specs []TopicSpec
	for _, name := range []string{TopicOrders, TopicPayments, TopicInventory, TopicShipping} {
		specs = append(specs, boundedSpec(name, partitions, replicationFactor, EventTopicBytes, EventTopicRetention))
	}
	for _, name := range []string{TopicCommandsPayment, TopicCommandsInventory, TopicCommandsShipping, TopicSagaReplies} {
		specs = append(specs, boundedSpec(name, partitions, replicationFactor, CommandTopicBytes, CommandTopicRetention))
	}
	return specs
}

// boundedSpec builds a delete-policy spec keeping topicBytes in total
// (split over the partitions) for at most keep. Segments are a quarter of
// a partition's share (at least 1 MiB) so that the broker deletes old data
// from disk in step with retention.
func boundedSpec(name string, partitions int32, rf int16, topicBytes int64, keep time.Duration) TopicSpec {
	perPart := topicBytes
	if partitions > 0 {
		perPart = topicBytes / int64(partitions)
	}
	seg := max(perPart/4, 1<<20)
	segStr := strconv.FormatInt(seg, 10)
	return TopicSpec{
		Name:              name,
		Partitions:        partitions,
		ReplicationFactor: rf,
		Retention:         Retention{Bytes: perPart, Time: keep},
		CleanupPolicy:     CleanupDelete,
		Configs:           map[string]*string{"segment.bytes": &segStr},
	}
}
