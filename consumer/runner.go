package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/tracing"
)

// Runner consumes topics as one consumer group and hands each record to a
// Handler inside a database transaction. See the package documentation for
// the processing model. A Runner runs once.
type Runner struct {
	db      *sqldb.DB
	dec     Decoder
	group   string
	topics  []string
	handler Handler // full chain: Recover, Dedup, middleware, handler
	fast    Handler // the chain without Dedup, for the bulk-dedup fast path
	cfg     config
	log     *slog.Logger
	metrics metrics

	started atomic.Bool
	client  *kgo.Client
	fatal   error // set by poll: the broker refused the group or its topics

	mu      sync.Mutex // guards workers and closing
	workers map[tp]*worker
	closing bool

	wmMu sync.Mutex // guards wm
	wm   map[tp]kgo.EpochOffset

	commitMu  sync.Mutex // serialises commits; guards committed
	committed map[tp]int64
	commitSig chan struct{}

	subs chan *submission // group-commit writer's input (SQLite); nil: parallel lanes

	decodeSem chan struct{} // bounds the chunks decoded at once

	rebalanceStart time.Time // when the rebalance in progress began; zero: none (guarded by mu)
}

// tp names one topic partition.
type tp struct {
	topic     string
	partition int32
}

// New returns a Runner for group over topics (plus the group's replay
// topic). db must have Migrations applied; dec is normally an
// *event.Codec; h handles every decoded event.
func New(db *sqldb.DB, dec Decoder, group string, topics []string, h Handler, opts ...Opt) (*Runner, error) {
	var problems []error
	if db == nil {
		problems = append(problems, errors.New("db is nil"))
	}
	if dec == nil {
		problems = append(problems, errors.New("decoder is nil"))
	}
	if group == "" {
		problems = append(problems, errors.New("group is empty"))
	}
	if len(topics) == 0 {
		problems = append(problems, errors.New("no topics"))
	}
	if h == nil {
		problems = append(problems, errors.New("handler is nil"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrConfig, errors.Join(problems...))
	}
	cfg := config{
		maxAttempts:     5,
		backoff:         Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second},
		batchMax:        500,
		shutdownTimeout: 10 * time.Second,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.lanes <= 0 {
		cfg.lanes = 1
		if db.Dialect == sqldb.Postgres {
			cfg.lanes = 4
		}
	}
	if cfg.maxAttempts < 1 {
		cfg.maxAttempts = 1
	}
	if cfg.batchMax < 1 {
		cfg.batchMax = 500
	}
	if cfg.maxPending <= 0 {
		cfg.maxPending = 10 * cfg.batchMax * cfg.lanes
	}
	if cfg.shutdownTimeout <= 0 {
		cfg.shutdownTimeout = 10 * time.Second
	}
	log := cfg.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mws := []Middleware{Recover(), Dedup(group)}
	fast := []Middleware{Recover()}
	if tr := tracing.Tracer(cfg.tracer, tracerName); tr != nil {
		mws = append(mws, traceHandler(tr, group))
		fast = append(fast, traceHandler(tr, group))
	}
	mws = append(mws, cfg.middleware...)
	fast = append(fast, cfg.middleware...)
	var subs chan *submission
	decoders := runtime.GOMAXPROCS(0)
	if db.Dialect == sqldb.SQLite {
		subs = make(chan *submission) // unbuffered: a send completes only when the writer takes it
		decoders = max(1, decoders-1) // leave a core to the writer
	}
	return &Runner{
		fast:      Chain(h, fast...),
		subs:      subs,
		decodeSem: make(chan struct{}, decoders),
		db:        db,
		dec:       dec,
		group:     group,
		topics:    append([]string(nil), topics...),
		handler:   Chain(h, mws...),
		cfg:       cfg,
		log:       log.With("group", group),
		workers:   make(map[tp]*worker),
		wm:        make(map[tp]kgo.EpochOffset),
		committed: make(map[tp]int64),
		commitSig: make(chan struct{}, 1),
	}, nil
}

// Group returns the consumer group name.
func (r *Runner) Group() string { return r.group }

// Run joins the group and consumes until ctx is cancelled, the client
// fails to start, or the broker refuses the group or its topics (an error
// wrapping ErrNotAuthorized: a missing ACL, which no retry fixes). On
// cancellation it stops fetching, lets in-flight transactions finish
// (bounded by WithShutdownTimeout), commits the offsets of what is done
// and leaves the group; it then returns nil. On a refusal it does the
// same, then returns the error.
func (r *Runner) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	topics := append(append([]string(nil), r.topics...), ReplayTopic(r.group))
	opts := append([]kgo.Opt{}, r.cfg.kafkaOpts...)
	opts = append(opts,
		kgo.ConsumerGroup(r.group),
		kgo.ConsumeTopics(topics...),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(r.onAssigned),
		kgo.OnPartitionsRevoked(r.onRevoked),
		kgo.OnPartitionsLost(r.onLost),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("consumer: kafka client: %w", err)
	}
	r.client = cl
	r.mu.Lock()
	r.rebalanceStart = time.Now() // the first join
	r.mu.Unlock()
	cctx, stopCommitter := context.WithCancel(context.Background())
	committerDone := make(chan struct{})
	go func() { defer close(committerDone); r.committer(cctx) }()
	writerStop, writerDone := make(chan struct{}), make(chan struct{})
	if r.subs != nil {
		go func() { defer close(writerDone); r.writeLoop(writerStop) }()
	} else {
		close(writerDone)
	}

	r.poll(ctx)

	// Shutdown: no new workers, stop the running ones, commit, leave.
	r.mu.Lock()
	r.closing = true
	all := make(map[string][]int32)
	for k := range r.workers {
		all[k.topic] = append(all[k.topic], k.partition)
	}
	r.mu.Unlock()
	r.metrics.revokedParts.Add(r.retire(all, true)) // leaving the group revokes them
	close(writerStop)
	<-writerDone
	stopCommitter()
	<-committerDone
	lctx, cancel := context.WithTimeout(context.Background(), r.cfg.shutdownTimeout)
	defer cancel()
	if err := cl.LeaveGroupContext(lctx); err != nil {
		r.log.Warn("consumer: leave group", "error", err)
	}
	cl.Close()
	if r.fatal != nil {
		return fmt.Errorf("consumer %s: %w", r.group, r.fatal)
	}
	return nil
}

// ErrNotAuthorized wraps the broker's refusal of the group or its topics
// (GROUP_AUTHORIZATION_FAILED, TOPIC_AUTHORIZATION_FAILED,
// CLUSTER_AUTHORIZATION_FAILED, SASL_AUTHENTICATION_FAILED): Run stops and
// returns it instead of retrying forever, since no retry grants the ACL.
var ErrNotAuthorized = errors.New("consumer: not authorized by the broker")

// fatalFetchError reports the fetch errors that end Run.
func fatalFetchError(err error) bool {
	return errors.Is(err, kerr.GroupAuthorizationFailed) || errors.Is(err, kerr.TopicAuthorizationFailed) ||
		errors.Is(err, kerr.ClusterAuthorizationFailed) || errors.Is(err, kerr.SaslAuthenticationFailed)
}

// poll fetches and hands records to the partition workers until ctx ends.
func (r *Runner) poll(ctx context.Context) {
	for {
		fs := r.client.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			r.client.AllowRebalance()
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				r.log.Error("consumer: fetch", "topic", t, "partition", p, "error", err)
			}
			if fatalFetchError(err) && r.fatal == nil {
				r.fatal = fmt.Errorf("%w: %w", ErrNotAuthorized, err)
			}
		})
		if r.fatal != nil {
			r.client.AllowRebalance()
			return
		}
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			r.mu.Lock()
			w := r.workers[tp{p.Topic, p.Partition}]
			r.mu.Unlock()
			if w == nil {
				return // not ours (any more); the owner reads from the committed offset
			}
			select {
			case w.in <- p.Records:
			case <-w.stop:
			case <-ctx.Done():
			}
		})
		r.client.AllowRebalance()
	}
}

func (r *Runner) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	r.metrics.rebalances.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return
	}
	for t, ps := range assigned {
		for _, p := range ps {
			k := tp{t, p}
			if _, ok := r.workers[k]; ok {
				continue
			}
			w := newWorker(r, k, t == ReplayTopic(r.group))
			r.workers[k] = w
			r.metrics.assignedParts.Add(1)
			go w.run()
		}
	}
	r.metrics.assigned.Store(int64(len(r.workers)))
	if !r.rebalanceStart.IsZero() {
		r.metrics.completed.Add(1)
		if fn := r.cfg.onRebalance; fn != nil {
			fn(time.Since(r.rebalanceStart))
		}
		r.rebalanceStart = time.Time{}
	}
	r.log.Info("consumer: partitions assigned", "partitions", assigned)
}

func (r *Runner) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	r.metrics.rebalances.Add(1)
	r.startRebalance()
	r.log.Info("consumer: partitions revoked", "partitions", revoked)
	r.metrics.revokedParts.Add(r.retire(revoked, true))
}

func (r *Runner) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	r.metrics.rebalances.Add(1)
	r.startRebalance()
	r.log.Warn("consumer: partitions lost", "partitions", lost)
	r.metrics.lostParts.Add(r.retire(lost, false))
}

// startRebalance marks the start of a rebalance, unless one is in
// progress or the runner is stopping.
func (r *Runner) startRebalance() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rebalanceStart.IsZero() && !r.closing {
		r.rebalanceStart = time.Now()
	}
}

// retire stops the workers of tps (letting in-flight transactions finish,
// bounded), drops their in-memory state and, when commit is set, commits
// their done watermarks synchronously. Offsets of unfinished records are
// never committed. It returns how many partitions it retired.
func (r *Runner) retire(tps map[string][]int32, commit bool) int64 {
	r.mu.Lock()
	var ws []*worker
	for t, ps := range tps {
		for _, p := range ps {
			k := tp{t, p}
			if w, ok := r.workers[k]; ok {
				ws = append(ws, w)
				delete(r.workers, k)
			}
		}
	}
	r.metrics.assigned.Store(int64(len(r.workers)))
	r.mu.Unlock()
	for _, w := range ws {
		w.requestStop()
	}
	deadline := time.NewTimer(r.cfg.shutdownTimeout)
	defer deadline.Stop()
	for _, w := range ws {
		select {
		case <-w.exited:
		case <-deadline.C:
			for _, w := range ws {
				w.hardCancel()
			}
			deadline.Reset(r.cfg.shutdownTimeout)
			select {
			case <-w.exited:
			case <-deadline.C:
				r.log.Error("consumer: worker did not stop", "topic", w.tp.topic, "partition", w.tp.partition)
			}
		}
	}
	r.commitMu.Lock()
	defer r.commitMu.Unlock()
	final := make(map[tp]kgo.EpochOffset)
	r.wmMu.Lock()
	for _, w := range ws {
		w.retired = true
		if eo, ok := r.wm[w.tp]; ok {
			final[w.tp] = eo
			delete(r.wm, w.tp)
		}
	}
	r.wmMu.Unlock()
	for _, w := range ws {
		w.hardCancel()
	}
	if commit {
		ctx, cancel := context.WithTimeout(context.Background(), r.cfg.shutdownTimeout)
		defer cancel()
		r.commitSync(ctx, final)
	}
	for k := range final {
		delete(r.committed, k)
	}
	return int64(len(ws))
}

// publish records a partition's done watermark (the offset to resume from)
// and wakes the committer.
func (r *Runner) publish(w *worker, eo kgo.EpochOffset) {
	r.wmMu.Lock()
	if w.retired {
		r.wmMu.Unlock()
		return
	}
	r.wm[w.tp] = eo
	r.wmMu.Unlock()
	select {
	case r.commitSig <- struct{}{}:
	default:
	}
}

// committer commits changed watermarks whenever a worker publishes one;
// signals that arrive during a commit coalesce into the next.
func (r *Runner) committer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.commitSig:
		}
		r.commitMu.Lock()
		r.wmMu.Lock()
		changed := make(map[tp]kgo.EpochOffset)
		for k, eo := range r.wm {
			if c, ok := r.committed[k]; !ok || c != eo.Offset {
				changed[k] = eo
			}
		}
		r.wmMu.Unlock()
		r.commitSync(ctx, changed)
		r.commitMu.Unlock()
	}
}

// commitSync commits offs; the caller holds commitMu.
func (r *Runner) commitSync(ctx context.Context, offs map[tp]kgo.EpochOffset) {
	if len(offs) == 0 {
		return
	}
	m := make(map[string]map[int32]kgo.EpochOffset)
	for k, eo := range offs {
		if m[k.topic] == nil {
			m[k.topic] = make(map[int32]kgo.EpochOffset)
		}
		m[k.topic][k.partition] = eo
	}
	r.client.CommitOffsetsSync(ctx, m, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				r.log.Warn("consumer: commit offsets", "error", err)
			}
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				k := tp{t.Topic, p.Partition}
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					r.log.Warn("consumer: commit offset", "topic", t.Topic, "partition", p.Partition, "error", err)
					continue
				}
				if eo, ok := offs[k]; ok {
					r.committed[k] = eo.Offset
				}
			}
		}
	})
}
