package metrics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/kafka"
)

// DefaultProbeTimeout bounds how long Lag and Describe spend reading the
// oldest unconsumed records (and the oldest dead letters) to date them.
// Partitions not read by then have LagSecondsKnown false.
const DefaultProbeTimeout = 5 * time.Second

// PartitionLag is one consumer group's position on one partition, like a
// row of kafka-consumer-groups --describe plus the lag in seconds.
type PartitionLag struct {
	// Group, Topic and Partition say whose position on what.
	Group     string
	Topic     string
	Partition int32
	// MemberID, ClientID and Host name the group member the partition is
	// assigned to; empty when no member has it (e.g. the group is Empty).
	MemberID string
	ClientID string
	Host     string
	// Committed is the group's committed offset: the next record it will
	// consume. -1 when the group has committed nothing on the partition.
	Committed int64
	// Start and End are the partition's log start offset and end offset
	// (high watermark); -1 when unknown.
	Start int64
	End   int64
	// Lag is End minus the committed offset (minus Start when nothing is
	// committed), in records; -1 when it could not be computed (see Err).
	Lag int64
	// Oldest is the timestamp of the oldest unconsumed record (the record
	// at the committed offset, or the first one after it); zero when Lag is
	// not positive or the record could not be read in time.
	Oldest time.Time
	// LagSeconds is the age of the oldest unconsumed record when the lag
	// was measured (never negative); 0 when Lag is 0. Meaningful only when
	// LagSecondsKnown.
	LagSeconds float64
	// LagSecondsKnown is false when Lag is unknown, or when the record at
	// the committed offset could not be read within the probe time.
	LagSecondsKnown bool
	// Err is the offset-fetch or list-offsets error of this partition.
	Err error
}

// GroupInfo describes one consumer group.
type GroupInfo struct {
	// Group is the group name.
	Group string
	// State is the group state (Stable, Empty, PreparingRebalance, Dead…).
	State string
	// Protocol is the partition assignor in use (e.g. cooperative-sticky).
	Protocol string
	// Members are the group's members, sorted by member id.
	Members []MemberInfo
	// Err is the describe or offset-fetch error of the group, if any.
	Err error
}

// MemberInfo is one member of a consumer group.
type MemberInfo struct {
	MemberID string
	ClientID string
	Host     string
	// Partitions is the number of partitions assigned to the member.
	Partitions int
}

// DeadLetterQueue is the dead-letter topic of one consumer group.
type DeadLetterQueue struct {
	// Group is the consumer group; Topic its dead-letter topic, dlq.<group>.
	Group string
	Topic string
	// Depth is the number of records in the topic (end minus start offset,
	// summed over partitions): dead letters still retained, including ones
	// already replayed or discarded (resolving a letter does not delete it).
	Depth int64
	// Oldest is the timestamp of the oldest retained dead letter; zero when
	// Depth is 0 or it could not be read in time.
	Oldest time.Time
	// OldestAgeSeconds is the age of Oldest when measured; 0 when Depth is
	// 0. Meaningful only when OldestKnown.
	OldestAgeSeconds float64
	// OldestKnown tells whether OldestAgeSeconds was measured.
	OldestKnown bool
}

// Snapshot is everything Describe measures, at one point in time.
type Snapshot struct {
	// At is when the measurement started.
	At time.Time
	// Groups are the described groups, sorted by name.
	Groups []GroupInfo
	// Partitions are the groups' positions, sorted by group, topic and
	// partition.
	Partitions []PartitionLag
	// DeadLetters are the groups' dead-letter topics that exist, sorted by
	// group.
	DeadLetters []DeadLetterQueue
}

// Lag returns the position of the given consumer groups (every group when
// none is given) on every partition they consume or committed to: the
// committed offset, the end offset, the lag in records and the lag in
// seconds — the age of the oldest unconsumed record, read at the committed
// offset.
//
// adm lists groups and offsets. client is not used for I/O: its options
// (seed brokers, TLS, SASL, client id) are the template of a short-lived,
// dedicated client that consumes the needed partitions directly, each from
// its committed offset, for at most DefaultProbeTimeout (or until ctx is
// done); any group or topic consumption configured on client is dropped,
// and it must not be a regex consumer. A nil client skips the seconds
// (LagSecondsKnown stays false).
//
// A group that cannot be described or fetched is left out of the result and
// its error is joined into the returned error, which is returned together
// with the partitions that could be measured.
func Lag(ctx context.Context, adm *kadm.Client, client *kgo.Client, groups ...string) ([]PartitionLag, error) {
	s, err := describe(ctx, adm, client, false, groups)
	if s == nil {
		return nil, err
	}
	return s.Partitions, err
}

// Describe measures what Lag does and also the groups' states and members
// and their dead-letter topics (DeadLetterQueue). With no groups given it
// covers every group, plus every existing dlq.* topic. client is used as in
// Lag. Errors are per group, joined, and returned with the partial
// snapshot; a nil snapshot means nothing could be measured.
func Describe(ctx context.Context, adm *kadm.Client, client *kgo.Client, groups ...string) (*Snapshot, error) {
	return describe(ctx, adm, client, true, groups)
}

type tp struct {
	topic     string
	partition int32
}

func describe(ctx context.Context, adm *kadm.Client, client *kgo.Client, dlq bool, groups []string) (*Snapshot, error) {
	if adm == nil {
		return nil, errors.New("metrics: lag: nil admin client")
	}
	groups = slices.Clone(groups)
	snap := &Snapshot{At: time.Now()}
	lags, err := adm.Lag(ctx, groups...)
	if err != nil {
		return nil, fmt.Errorf("metrics: lag: %w", err)
	}
	var errs []error
	probe := make(map[tp]int64)
	for _, g := range lags.Sorted() {
		info := GroupInfo{Group: g.Group, State: g.State, Protocol: g.Protocol, Err: g.Error()}
		assigned := make(map[string]int)
		for _, m := range g.Members {
			n := 0
			if c, ok := m.Assigned.AsConsumer(); ok {
				for _, t := range c.Topics {
					n += len(t.Partitions)
				}
			}
			assigned[m.MemberID] = n
			info.Members = append(info.Members, MemberInfo{
				MemberID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Partitions: n,
			})
		}
		sort.Slice(info.Members, func(i, j int) bool { return info.Members[i].MemberID < info.Members[j].MemberID })
		snap.Groups = append(snap.Groups, info)
		if info.Err != nil {
			errs = append(errs, fmt.Errorf("group %s: %w", g.Group, info.Err))
			continue
		}
		if g.State == "Dead" && len(g.Lag) == 0 {
			continue
		}
		for _, l := range g.Lag.Sorted() {
			pl := PartitionLag{
				Group: g.Group, Topic: l.Topic, Partition: l.Partition,
				Committed: l.Commit.At, Start: -1, End: -1, Lag: l.Lag, Err: l.Err,
			}
			if l.Start.Err == nil {
				pl.Start = l.Start.Offset
			}
			if l.End.Err == nil {
				pl.End = l.End.Offset
			}
			if l.Member != nil {
				pl.MemberID, pl.ClientID, pl.Host = l.Member.MemberID, l.Member.ClientID, l.Member.ClientHost
			}
			switch {
			case pl.Err != nil || pl.Lag < 0:
			case pl.Lag == 0:
				pl.LagSecondsKnown = true
			default:
				at := pl.Committed
				if at < pl.Start {
					at = pl.Start // nothing committed, or the commit fell out of retention
				}
				if at >= 0 {
					if cur, ok := probe[tp{l.Topic, l.Partition}]; !ok || at < cur {
						probe[tp{l.Topic, l.Partition}] = at
					}
				}
			}
			snap.Partitions = append(snap.Partitions, pl)
		}
	}

	var dlqStarts map[tp]int64
	if dlq {
		var derr error
		snap.DeadLetters, dlqStarts, derr = deadLetterDepths(ctx, adm, groups, snap.Groups)
		if derr != nil {
			errs = append(errs, derr)
		}
		for k, at := range dlqStarts {
			if cur, ok := probe[k]; !ok || at < cur {
				probe[k] = at
			}
		}
	}

	// Date the oldest unconsumed records. Several groups may wait at
	// different offsets of one partition; the probe reads from the lowest
	// one and keeps the first record at or after each wanted offset.
	want := make(map[tp]map[int64]struct{})
	add := func(k tp, at int64) {
		if at < 0 {
			return
		}
		if want[k] == nil {
			want[k] = make(map[int64]struct{})
		}
		want[k][at] = struct{}{}
	}
	for i := range snap.Partitions {
		pl := &snap.Partitions[i]
		if pl.Err == nil && pl.Lag > 0 {
			add(tp{pl.Topic, pl.Partition}, max(pl.Committed, pl.Start))
		}
	}
	for k, at := range dlqStarts {
		add(k, at)
	}
	stamps, perr := firstTimestamps(ctx, client, probe, want)
	if perr != nil {
		errs = append(errs, perr)
	}
	now := time.Now()
	for i := range snap.Partitions {
		pl := &snap.Partitions[i]
		if pl.Err != nil || pl.Lag <= 0 {
			continue
		}
		if ts, ok := stamps[probeKey{pl.Topic, pl.Partition, max(pl.Committed, pl.Start)}]; ok {
			pl.Oldest = ts
			pl.LagSeconds = max(0, now.Sub(ts).Seconds())
			pl.LagSecondsKnown = true
		}
	}
	for i := range snap.DeadLetters {
		d := &snap.DeadLetters[i]
		if d.Depth == 0 {
			d.OldestKnown = true
			continue
		}
		known := true
		for k, at := range dlqStarts {
			if k.topic != d.Topic {
				continue
			}
			ts, ok := stamps[probeKey{k.topic, k.partition, at}]
			if !ok {
				known = false
				continue
			}
			if d.Oldest.IsZero() || ts.Before(d.Oldest) {
				d.Oldest = ts
			}
		}
		if known && !d.Oldest.IsZero() {
			d.OldestAgeSeconds = max(0, now.Sub(d.Oldest).Seconds())
			d.OldestKnown = true
		} else {
			d.Oldest = time.Time{}
		}
	}
	return snap, errors.Join(errs...)
}

// deadLetterDepths measures dlq.<group> for the given groups, or for every
// described group and every existing dlq.* topic when groups is empty. It
// returns the start offset of every non-empty partition, to date the
// oldest letter.
func deadLetterDepths(ctx context.Context, adm *kadm.Client, groups []string, described []GroupInfo) ([]DeadLetterQueue, map[tp]int64, error) {
	names := make(map[string]struct{})
	for _, g := range groups {
		names[g] = struct{}{}
	}
	if len(groups) == 0 {
		for _, g := range described {
			names[g.Group] = struct{}{}
		}
		tds, err := adm.ListTopics(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("metrics: dead letters: list topics: %w", err)
		}
		for t := range tds {
			if g, ok := strings.CutPrefix(t, kafka.DeadLetterPrefix); ok && g != "" {
				names[g] = struct{}{}
			}
		}
	}
	if len(names) == 0 {
		return nil, nil, nil
	}
	topics := make([]string, 0, len(names))
	for g := range names {
		topics = append(topics, kafka.DeadLetterTopic(g))
	}
	sort.Strings(topics)
	starts, err := adm.ListStartOffsets(ctx, topics...)
	if err != nil && len(starts) == 0 {
		return nil, nil, fmt.Errorf("metrics: dead letters: start offsets: %w", err)
	}
	ends, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil && len(ends) == 0 {
		return nil, nil, fmt.Errorf("metrics: dead letters: end offsets: %w", err)
	}
	var out []DeadLetterQueue
	probe := make(map[tp]int64)
	var errs []error
	for _, topic := range topics {
		ps, ok := ends[topic]
		if !ok {
			continue
		}
		d := DeadLetterQueue{Group: strings.TrimPrefix(topic, kafka.DeadLetterPrefix), Topic: topic}
		exists := false
		for p, e := range ps {
			if e.Err != nil {
				if !isUnknownTopic(e.Err) {
					errs = append(errs, fmt.Errorf("metrics: dead letters %s/%d: %w", topic, p, e.Err))
				}
				continue
			}
			exists = true
			s, ok := starts.Lookup(topic, p)
			if !ok || s.Err != nil {
				errs = append(errs, fmt.Errorf("metrics: dead letters %s/%d: no start offset", topic, p))
				continue
			}
			if n := e.Offset - s.Offset; n > 0 {
				d.Depth += n
				probe[tp{topic, p}] = s.Offset
			}
		}
		if exists {
			out = append(out, d)
		}
	}
	return out, probe, errors.Join(errs...)
}

func isUnknownTopic(err error) bool {
	return errors.Is(err, kerr.UnknownTopicOrPartition) || errors.Is(err, kerr.UnknownTopicID)
}

type probeKey struct {
	topic     string
	partition int32
	offset    int64
}

// firstTimestamps reads, with a dedicated direct consumer built from
// client's options, each partition of from starting at its offset, and
// returns the timestamp of the first record at or after each offset in
// want. It gives up after DefaultProbeTimeout or when ctx is done, returning
// what it found.
func firstTimestamps(ctx context.Context, client *kgo.Client, from map[tp]int64, want map[tp]map[int64]struct{}) (map[probeKey]time.Time, error) {
	if client == nil || len(from) == 0 {
		return nil, nil
	}
	offs := make(map[string]map[int32]kgo.Offset)
	pending := 0
	for k, at := range from {
		if offs[k.topic] == nil {
			offs[k.topic] = make(map[int32]kgo.Offset)
		}
		offs[k.topic][k.partition] = kgo.NewOffset().At(at)
		pending += len(want[k])
	}
	opts := append(slices.Clone(client.Opts()),
		kgo.ConsumerGroup(""),
		kgo.ConsumeTopics(),
		kgo.ConsumePartitions(offs),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(250*time.Millisecond),
		kgo.FetchMaxPartitionBytes(256<<10),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("metrics: lag probe client: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, DefaultProbeTimeout)
	defer cancel()
	found := make(map[probeKey]time.Time)
	for pending > 0 && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			k := tp{r.Topic, r.Partition}
			for at := range want[k] {
				pk := probeKey{r.Topic, r.Partition, at}
				if _, ok := found[pk]; !ok && r.Offset >= at {
					found[pk] = r.Timestamp
					pending--
				}
			}
		})
		// Stop reading a partition once every offset wanted in it is dated.
		done := make(map[string][]int32)
		for k, ats := range want {
			all := true
			for at := range ats {
				if _, ok := found[probeKey{k.topic, k.partition, at}]; !ok {
					all = false
					break
				}
			}
			if all {
				if _, ok := from[k]; ok {
					done[k.topic] = append(done[k.topic], k.partition)
					delete(from, k)
				}
			}
		}
		if len(done) > 0 {
			cl.PauseFetchPartitions(done)
		}
	}
	return found, nil
}
