package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TopicState is what the broker holds of one spec's topic, next to the
// spec: for `causeway topics` and for checks in tests.
type TopicState struct {
	Spec TopicSpec
	// Exists is false when the broker does not have the topic.
	Exists bool
	// Partitions is the topic's partition count.
	Partitions int32
	// Configs are the broker's values of the keys the spec manages
	// (TopicSpec.TopicConfigs), its default where the topic sets none.
	Configs map[string]string
	// Drift lists the managed configs that differ from the spec (From:
	// the broker's value, To: the spec's), as EnsureTopics would set them.
	Drift []ConfigChange
	// Err says why the topic or its configs could not be read.
	Err error
}

// Matches reports whether the topic exists as its spec says: the same
// partition count and every managed config equal.
func (s TopicState) Matches() bool {
	return s.Err == nil && s.Exists && s.Partitions == s.Spec.Partitions && len(s.Drift) == 0
}

// InspectTopics reads the partition count and the managed configs of
// every spec's topic, without changing anything. A topic that cannot be
// read gets its Err; the error returned is for a request that failed as
// a whole (nothing could be listed).
func InspectTopics(ctx context.Context, adm *kadm.Client, specs ...TopicSpec) ([]TopicState, error) {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	details, err := listFresh(ctx, adm, names...)
	if err != nil {
		return nil, fmt.Errorf("kafka: list topics: %w", err)
	}
	out := make([]TopicState, len(specs))
	var existing []string
	for i, s := range specs {
		st := TopicState{Spec: s}
		d, ok := details[s.Name]
		switch {
		case !ok || errors.Is(d.Err, kerr.UnknownTopicOrPartition):
		case d.Err != nil:
			st.Err = d.Err
		default:
			st.Exists, st.Partitions = true, int32(len(d.Partitions))
			existing = append(existing, s.Name)
		}
		out[i] = st
	}
	if len(existing) == 0 {
		return out, nil
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, existing...)
	for i := range out {
		st := &out[i]
		if !st.Exists {
			continue
		}
		if err != nil {
			st.Err = fmt.Errorf("kafka: describe topic configs: %w", err)
			continue
		}
		rc, rerr := rcs.On(st.Spec.Name, nil)
		if rerr == nil {
			rerr = rc.Err
		}
		if rerr != nil {
			st.Err = fmt.Errorf("kafka: describe topic configs: %w", rerr)
			continue
		}
		have := configMap(rc)
		st.Configs = make(map[string]string)
		for _, k := range slices.Sorted(maps.Keys(st.Spec.TopicConfigs())) {
			st.Configs[k] = have[k]
		}
		st.Drift = diffConfigs(st.Spec, have)
	}
	return out, nil
}
