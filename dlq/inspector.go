package dlq

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
)

// DefaultMaxReplays is how many times a letter may be replayed before the
// loop guard refuses to replay it again without Force.
const DefaultMaxReplays = 3

// Inspector reads the dead-letter topics of consumer groups, and replays
// or discards their letters through the groups' replay topics.
//
// Reads are bounded: List and Show read each dead-letter partition from
// its start offset up to the end offset it had when the call began, and
// never wait for new records. Every call reads afresh, so a result is a
// snapshot; letters are identified by their letter id, not by their
// position in the topic.
//
// An Inspector is safe for concurrent use. Close it when done.
type Inspector struct {
	kcfg       kafka.ClientConfig
	extra      []kgo.Opt
	client     *kgo.Client
	adm        *kadm.Client
	audit      *Audit
	serviceDBs map[string]*sqldb.DB
	maxReplays int
	log        *slog.Logger
	sleep      func(context.Context, time.Duration) error
	now        func() time.Time
}

// Opt configures an Inspector.
type Opt interface{ apply(*Inspector) }

type optFunc func(*Inspector)

func (f optFunc) apply(in *Inspector) { f(in) }

// WithAudit keeps an audit log of replays and discards in a, counts
// replays for the loop guard from it, derives letter statuses from it
// and enables resumable bulk replays. Without it, replay counts come from
// the letters' causeway-replay-count header only.
func WithAudit(a *Audit) Opt { return optFunc(func(in *Inspector) { in.audit = a }) }

// WithServiceDB gives the database of the service that runs group, so
// that statuses are exact: a letter its key is parked behind is
// StatusParked (with ParkedRecords), one it is not is resolved. Repeat
// for several groups.
func WithServiceDB(group string, db *sqldb.DB) Opt {
	return optFunc(func(in *Inspector) { in.serviceDBs[group] = db })
}

// WithMaxReplays sets the loop guard's limit (default DefaultMaxReplays;
// at least 1).
func WithMaxReplays(n int) Opt { return optFunc(func(in *Inspector) { in.maxReplays = max(n, 1) }) }

// WithLogger sets the logger (nil, the default, discards).
func WithLogger(l *slog.Logger) Opt { return optFunc(func(in *Inspector) { in.log = l }) }

// WithKafkaOpts adds franz-go options to the clients the Inspector makes.
func WithKafkaOpts(opts ...kgo.Opt) Opt {
	return optFunc(func(in *Inspector) { in.extra = append(in.extra, opts...) })
}

// WithSleep replaces how a rate-limited replay waits between two letters
// (default: a timer, interrupted by ctx). For tests and simulations.
func WithSleep(f func(ctx context.Context, d time.Duration) error) Opt {
	return optFunc(func(in *Inspector) { in.sleep = f })
}

// New returns an Inspector for the cluster cfg reaches.
func New(cfg kafka.ClientConfig, opts ...Opt) (*Inspector, error) {
	in := &Inspector{
		kcfg:       cfg,
		serviceDBs: map[string]*sqldb.DB{},
		maxReplays: DefaultMaxReplays,
		sleep:      sleepCtx,
		now:        time.Now,
	}
	for _, o := range opts {
		o.apply(in)
	}
	if in.log == nil {
		in.log = slog.New(slog.DiscardHandler)
	}
	cl, err := kafka.NewClient(cfg, append(slices.Clone(in.extra), kgo.ProducerLinger(0))...)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	in.client, in.adm = cl, kadm.NewClient(cl)
	return in, nil
}

// Close closes the Inspector's Kafka client.
func (in *Inspector) Close() { in.client.Close() }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Groups returns the consumer groups that have a dead-letter topic,
// sorted.
func (in *Inspector) Groups(ctx context.Context) ([]string, error) {
	ts, err := in.adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("dlq: list topics: %w", err)
	}
	var out []string
	for _, t := range ts.Names() {
		if g, ok := strings.CutPrefix(t, kafka.DeadLetterPrefix); ok && g != "" {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out, nil
}

// List returns the dead letters that match f, one per letter id (its
// latest occurrence), ordered by last failure (oldest first), then id, at
// most f.Limit. With f.Group empty it reads every group's dead-letter
// topic. An invalid filter gives an error matching ErrInvalidFilter.
func (in *Inspector) List(ctx context.Context, f Filter) ([]Letter, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	groups := []string{f.Group}
	if f.Group == "" {
		var err error
		if groups, err = in.Groups(ctx); err != nil {
			return nil, err
		}
	}
	var all []Letter
	for _, g := range groups {
		occ, err := in.read(ctx, g)
		if err != nil {
			return nil, err
		}
		all = append(all, latest(occ)...)
	}
	if err := in.annotate(ctx, all); err != nil {
		return nil, err
	}
	out := all[:0]
	for _, l := range all {
		if f.Match(l) {
			out = append(out, l)
		}
	}
	slices.SortStableFunc(out, func(a, b Letter) int {
		if c := a.LastFailure.Compare(b.LastFailure); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// Failure is one occurrence of a letter id in the dead-letter topic: the
// first dead-lettering, a duplicate, or a replay that failed again.
type Failure struct {
	DLQPartition int32     `json:"dlqPartition"`
	DLQOffset    int64     `json:"dlqOffset"`
	Error        string    `json:"error"`
	Kind         string    `json:"kind"`
	Class        string    `json:"class"`
	Attempts     int       `json:"attempts"`
	FirstFailure time.Time `json:"firstFailure"`
	LastFailure  time.Time `json:"lastFailure"`
	ReplayCount  int       `json:"replayCount"`
}

// Detail is everything known about one letter.
type Detail struct {
	Letter
	// Envelope is the record value indented, when it is valid JSON (nil
	// otherwise; Value holds the raw text either way).
	Envelope []byte `json:"-"`
	// History lists every occurrence of the letter id, oldest first.
	History []Failure `json:"history"`
	// Audit lists the audited actions on the letter (with WithAudit).
	Audit []Entry `json:"audit"`
}

// MarshalJSON encodes d with its Letter's fields, history and audit, and
// the envelope as a JSON value under "envelope" when the record value is
// JSON (omitted otherwise; "value" holds the raw text either way). It is
// the JSON form of `causeway dlq show -o json` and GET /v1/dlq/{id}.
func (d Detail) MarshalJSON() ([]byte, error) {
	type detail Detail // without this method
	out := struct {
		detail
		Envelope json.RawMessage `json:"envelope,omitempty"`
	}{detail: detail(d)}
	if d.Envelope != nil && json.Valid(d.Envelope) {
		out.Envelope = json.RawMessage(d.Envelope)
	}
	return json.Marshal(out)
}

// Show returns the letter id with its error history and audit trail. An id
// that is not group/topic/partition/offset gives an error matching
// ErrInvalidID; an unknown one, ErrNotFound.
func (in *Inspector) Show(ctx context.Context, id string) (*Detail, error) {
	group, _, _, _, err := ParseID(id)
	if err != nil {
		return nil, err
	}
	occ, err := in.read(ctx, group)
	if err != nil {
		return nil, err
	}
	var mine []Letter
	for _, l := range occ {
		if l.ID == id {
			mine = append(mine, l)
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	ls := latest(mine)
	if err := in.annotate(ctx, ls); err != nil {
		return nil, err
	}
	d := &Detail{Letter: ls[0]}
	d.Envelope = indentJSON([]byte(d.Value))
	for _, l := range mine {
		d.History = append(d.History, Failure{
			DLQPartition: l.DLQPartition, DLQOffset: l.DLQOffset, Error: l.Error, Kind: l.Kind,
			Class: l.Class, Attempts: l.Attempts, FirstFailure: l.FirstFailure,
			LastFailure: l.LastFailure, ReplayCount: l.ReplayCount,
		})
	}
	if in.audit != nil {
		if d.Audit, err = in.audit.Entries(ctx, id, 0); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// letters returns the latest occurrence of each id, annotated, or an error
// matching ErrNotFound naming the missing ones.
func (in *Inspector) letters(ctx context.Context, ids []string) ([]Letter, error) {
	byGroup := map[string][]string{}
	var errs []error
	for _, id := range ids {
		g, _, _, _, err := ParseID(id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		byGroup[g] = append(byGroup[g], id)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	found := map[string]Letter{}
	for g := range byGroup {
		occ, err := in.read(ctx, g)
		if err != nil {
			return nil, err
		}
		for _, l := range latest(occ) {
			found[l.ID] = l
		}
	}
	var out []Letter
	for _, id := range ids {
		l, ok := found[id]
		if !ok {
			errs = append(errs, fmt.Errorf("%w: %s", ErrNotFound, id))
			continue
		}
		out = append(out, l)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, in.annotate(ctx, out)
}

// latest keeps the latest occurrence of each letter id (by last failure,
// then position), counting occurrences, in first-seen order.
func latest(occ []Letter) []Letter {
	idx := map[string]int{}
	var out []Letter
	for _, l := range occ {
		i, ok := idx[l.ID]
		if !ok {
			idx[l.ID] = len(out)
			out = append(out, l)
			continue
		}
		n := out[i].Occurrences + 1
		if !l.LastFailure.Before(out[i].LastFailure) {
			out[i] = l
		}
		out[i].Occurrences = n
	}
	return out
}

// annotate sets the replay count and status of each letter from the audit
// log and the service databases.
func (in *Inspector) annotate(ctx context.Context, ls []Letter) error {
	var counts map[string]int
	var reqs map[string]request
	if in.audit != nil {
		var err error
		if counts, reqs, err = in.audit.summary(ctx); err != nil {
			return err
		}
	}
	parked := map[string]map[string]consumer.ParkedKey{}
	for i := range ls {
		l := &ls[i]
		db, ok := in.serviceDBs[l.Group]
		if !ok {
			continue
		}
		if _, done := parked[l.Group]; !done {
			ps, err := consumer.ListParked(ctx, db, l.Group)
			if err != nil {
				return fmt.Errorf("dlq: parked keys of %s: %w", l.Group, err)
			}
			m := make(map[string]consumer.ParkedKey, len(ps))
			for _, p := range ps {
				m[p.Key] = p
			}
			parked[l.Group] = m
		}
	}
	for i := range ls {
		l := &ls[i]
		l.ReplayCount = max(l.ReplayCount, counts[l.ID])
		req, requested := reqs[l.ID]
		requested = requested && req.at.After(l.LastFailure)
		pk, haveDB := parked[l.Group]
		p, isParked := pk[l.Key]
		blocking := isParked && p.LetterID == l.ID
		if blocking {
			l.ParkedRecords = p.Records
		}
		switch {
		case requested && req.action == consumer.ActionDiscard && blocking:
			l.Status = StatusDiscardRequested
		case requested && blocking:
			l.Status = StatusReplayRequested
		case requested && req.action == consumer.ActionDiscard:
			l.Status = StatusDiscarded
		case requested:
			l.Status = StatusReplayed
		case blocking:
			l.Status = StatusParked
		case haveDB && l.Kind != consumer.KindContract:
			// A contract letter never parks its key: that the key is
			// not parked says nothing about it, so it stays open.
			l.Status = StatusResolved
		default:
			l.Status = StatusOpen
		}
	}
	return nil
}

// read returns every dead letter in group's dead-letter topic, from each
// partition's start offset up to its end offset at the time of the call,
// in partition and offset order. A missing topic has no letters.
func (in *Inspector) read(ctx context.Context, group string) ([]Letter, error) {
	topic := kafka.DeadLetterTopic(group)
	ends, err := in.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("dlq: end offsets of %s: %w", topic, err)
	}
	starts, err := in.adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("dlq: start offsets of %s: %w", topic, err)
	}
	type tp struct {
		t string
		p int32
	}
	remaining := map[tp]int64{}
	from := map[string]map[int32]kgo.Offset{topic: {}}
	var errs []error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			if !errors.Is(o.Err, kerr.UnknownTopicOrPartition) {
				errs = append(errs, fmt.Errorf("dlq: end offset of %s/%d: %w", o.Topic, o.Partition, o.Err))
			}
			return
		}
		start := int64(0)
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && s.Err == nil {
			start = s.Offset
		}
		if start < o.Offset {
			remaining[tp{o.Topic, o.Partition}] = o.Offset
			from[topic][o.Partition] = kgo.NewOffset().At(start)
		}
	})
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(remaining) == 0 {
		return nil, nil
	}
	opts := append(slices.Clone(in.extra),
		kgo.ConsumePartitions(from),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(250*time.Millisecond))
	cl, err := kafka.NewClient(in.kcfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(remaining) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("dlq: read %s: %w", topic, err)
		}
		fs.EachError(func(t string, p int32, err error) {
			errs = append(errs, fmt.Errorf("dlq: read %s/%d: %w", t, p, err))
		})
		if len(errs) > 0 {
			return nil, errors.Join(errs...)
		}
		fs.EachRecord(func(r *kgo.Record) {
			k := tp{r.Topic, r.Partition}
			end, ok := remaining[k]
			if !ok || r.Offset >= end {
				return
			}
			recs = append(recs, r)
			if r.Offset >= end-1 {
				delete(remaining, k)
			}
		})
	}
	slices.SortFunc(recs, func(a, b *kgo.Record) int {
		if c := cmp.Compare(a.Partition, b.Partition); c != 0 {
			return c
		}
		return cmp.Compare(a.Offset, b.Offset)
	})
	var out []Letter
	for _, r := range recs {
		if l, ok := parseLetter(group, r); ok {
			out = append(out, l)
		}
	}
	return out, nil
}

// indentJSON returns b indented, or nil when it is not valid JSON.
func indentJSON(b []byte) []byte {
	if !json.Valid(b) {
		return nil
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		return nil
	}
	return buf.Bytes()
}
