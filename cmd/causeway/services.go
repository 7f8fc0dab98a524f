package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/consumer"
	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/internal/analytics"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/dashboard"
	"github.com/causeway-dev/causeway/internal/email"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/metrics"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// Consumer retry policy of the services. The order service's saga
// consumer gets a longer budget: an event that arrives before the step it
// follows (another topic, ErrNotYet) is retried until that step is
// handled, which after a restart under load can take a few seconds.
const (
	serviceMaxAttempts = 8
	sagaMaxAttempts    = 20
	retryBase          = 50 * time.Millisecond
	retryMax           = 2 * time.Second
)

// Service names: DATA-DIR/<name>.db, and the consumer groups.
var serviceGroups = []string{ordersvc.SagaGroup, payment.Group, inventory.Group, shipping.Group, email.Group, analytics.Group,
	ordersvc.OrchestratorGroup}

// platformTopics are the topics `up` creates: the fixed ones and each
// consumer group's dead-letter and replay topics.
func platformTopics(partitions int32) []kafka.TopicSpec {
	specs := kafka.DefaultTopics(partitions, -1)
	for _, g := range serviceGroups {
		specs = append(specs, kafka.GroupTopicSpecs(g, partitions, -1)...)
	}
	return specs
}

// unit is one service's machinery: its database, its outbox relay (with
// its producer client; none for services that publish nothing) and its
// consumer runner.
type unit struct {
	name   string
	db     *sqldb.DB
	client *kgo.Client
	relay  *outbox.Relay
	runner *consumer.Runner
}

// platform is every service of `causeway up`, wired on one broker.
type platform struct {
	log    *slog.Logger
	failed chan error // a consumer or relay that stopped by itself (Failed)
	orders *ordersvc.Service
	invDB  *sqldb.DB
	units  []*unit

	mailbox   *email.Mailbox
	read      *readSide // the read service (readside.go)
	analytics *analytics.Reader
	sender    *email.Sender // nil unless --smtp-addr
	senderWG  sync.WaitGroup
	senderEnd context.CancelFunc

	// Monitoring: one registry per process (see newMonitoring).
	mon *monitoring
	// tracers are the services' OpenTelemetry providers (nil: off).
	tracers *tracers
	// dash is the dashboard of the API (apiOptions; nil until then): its
	// event streams end when the HTTP server shuts down.
	dash *dashboard.Dashboard
	// kcfg reaches the cluster (GET /v1/trace).
	kcfg kafka.ClientConfig
	// Dead letters: the inspector behind /v1/dlq and its audit database
	// (openDLQ; nil until then).
	dlq     *dlq.Inspector
	auditDB *sqldb.DB
	// pruners prune the units' dedup tables (makePruners, runPruners).
	pruners []*consumer.Pruner
	// pruneWindow is the dedup pruning window, also the age beyond which
	// finished sagas are pruned (runPruners).
	pruneWindow time.Duration
	// stuckWatch marks sagas stuck when their commands are dead-lettered
	// (orchestration only; stuckwatch.go).
	stuckWatch *stuckWatcher

	runCancel  context.CancelFunc
	relayStop  context.CancelFunc
	runnersWG  sync.WaitGroup
	relaysWG   sync.WaitGroup
	shutdownTO time.Duration
}

// openPlatform opens and migrates every service's database (by default
// its SQLite file under cfg.DataDir; see withServices and withOpener for
// `causeway serve`) and builds its handler, runner and relay. Close undoes
// it. `up` and `serve` share this wiring.
func openPlatform(ctx context.Context, cfg UpConfig, cat *catalog.Catalog, ccfg kafka.ClientConfig, log *slog.Logger, opts ...platformOpt) (_ *platform, err error) {
	po := platformOpts{instance: "causeway"}
	for _, o := range opts {
		o(&po)
	}
	p := &platform{log: log, failed: make(chan error, 1), shutdownTO: cfg.ShutdownTimeout, kcfg: ccfg}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	codec, err := schema.NewCodec()
	if err != nil {
		return nil, err
	}
	openDB := po.open
	if openDB == nil {
		openDB = func(ctx context.Context, name string) (*sqldb.DB, error) {
			return sqlite.Open(ctx, filepath.Join(cfg.DataDir, name+".db"), sqlite.SyncWrites(cfg.SyncWrites))
		}
	}
	want := func(name string) bool { return po.services == nil || po.services[name] }
	open := func(name string, migrate func(*sqldb.DB) error) (*sqldb.DB, error) {
		db, err := openDB(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%s db: %w", name, err)
		}
		if err := migrate(db); err != nil {
			_ = db.Close()
			return nil, err
		}
		return db, nil
	}

	if want("order") {
		orderDB, err := open("order", func(db *sqldb.DB) error { return ordersvc.Migrate(ctx, db) })
		if err != nil {
			return nil, err
		}
		p.units = append(p.units, &unit{name: "order", db: orderDB})
		if p.orders, err = ordersvc.New(orderDB, cat, ordersvc.WithLogger(log.With("service", "order"))); err != nil {
			return nil, err
		}
	}
	if want("payment") {
		payDB, err := open("payment", func(db *sqldb.DB) error { return payment.Migrate(ctx, db) })
		if err != nil {
			return nil, err
		}
		p.units = append(p.units, &unit{name: "payment", db: payDB})
	}
	if want("inventory") {
		if p.invDB, err = open("inventory", func(db *sqldb.DB) error { return inventory.Migrate(ctx, db, cat) }); err != nil {
			return nil, err
		}
		p.units = append(p.units, &unit{name: "inventory", db: p.invDB})
	}
	if want("shipping") {
		shipDB, err := open("shipping", func(db *sqldb.DB) error { return shipping.Migrate(ctx, db) })
		if err != nil {
			return nil, err
		}
		p.units = append(p.units, &unit{name: "shipping", db: shipDB})
	}
	var emailHandler consumer.Handler
	if want("email") {
		emailDB, err := open("email", func(db *sqldb.DB) error { return email.Migrate(ctx, db) })
		if err != nil {
			return nil, err
		}
		p.units = append(p.units, &unit{name: "email", db: emailDB})
		p.mailbox = email.NewMailbox(emailDB)
		if emailHandler, err = email.NewHandler(email.WithSending(cfg.SMTPAddr != "")); err != nil {
			return nil, err
		}
		if cfg.SMTPAddr != "" {
			p.sender = email.NewSender(emailDB, cfg.SMTPAddr, email.WithSenderLogger(log.With("component", "email-smtp")))
		}
	}
	if want("analytics") {
		analyticsDB, err := open("analytics", func(db *sqldb.DB) error { return analytics.Migrate(ctx, db) })
		if err != nil {
			return nil, err
		}
		p.units = append(p.units, &unit{name: "analytics", db: analyticsDB})
		p.analytics = analytics.NewReader(analyticsDB, nil)
	}

	kopts, err := ccfg.Opts()
	if err != nil {
		return nil, err
	}
	if p.mon, err = newMonitoring(); err != nil {
		return nil, err
	}
	if p.tracers, err = newTracers(ctx, cfg.Tracing, po.instance); err != nil {
		return nil, err
	}
	kopts = append(kopts, kgo.WithHooks(p.mon.kafka))
	if want(readServiceName) || want("order") {
		if err := p.openReadSide(ctx, open, codec, kopts, log); err != nil {
			return nil, err
		}
	}
	type wiring struct {
		name     string
		group    string
		topics   []string
		types    []string // the types of topics the handler acts on (consumer.WithEventTypes)
		handler  consumer.Handler
		attempts int
		silent   bool // publishes nothing: no outbox relay
	}
	var wires []wiring
	if p.orders != nil {
		wires = append(wires, wiring{"order", ordersvc.SagaGroup, ordersvc.SagaTopics, ordersvc.SagaEventTypes, p.orders.SagaHandler(), sagaMaxAttempts, false})
	}
	wires = append(wires,
		wiring{"payment", payment.Group, payment.Topics, payment.EventTypes, payment.NewHandler(codec, nil), serviceMaxAttempts, false},
		wiring{"inventory", inventory.Group, inventory.Topics, inventory.EventTypes, inventory.NewHandler(codec, nil), serviceMaxAttempts, false},
		wiring{"shipping", shipping.Group, shipping.Topics, shipping.EventTypes, shipping.NewHandler(codec, nil), serviceMaxAttempts, false},
		wiring{"email", email.Group, email.Topics, email.EventTypes, emailHandler, serviceMaxAttempts, true},
		wiring{"analytics", analytics.Group, analytics.Topics, analytics.EventTypes, analytics.NewHandler(nil), serviceMaxAttempts, true},
	)
	wireOf := func(name string) (wiring, bool) {
		for _, w := range wires {
			if w.name == name {
				return w, true
			}
		}
		return wiring{}, false
	}
	for _, u := range p.units {
		w, ok := wireOf(u.name)
		if !ok {
			return nil, fmt.Errorf("%s: no consumer wiring", u.name)
		}
		if !w.silent {
			c := ccfg
			c.ClientID = po.instance + "-" + u.name + "-outbox"
			if u.client, err = kafka.NewClient(c, kgo.WithHooks(p.mon.kafka)); err != nil {
				return nil, fmt.Errorf("%s kafka client: %w", u.name, err)
			}
			u.relay = outbox.NewRelay(u.db, u.client, outbox.WithLogger(log.With("component", u.name+"-outbox")),
				outbox.WithObserver(p.mon.outbox.Observer(u.name)), outbox.WithTracerProvider(p.tracers.Provider(u.name)))
			p.mon.outbox.AddBacklog(u.name, u.relay)
		}
		u.runner, err = consumer.New(u.db, codec, w.group, w.topics, w.handler,
			append(p.consumerOpts(cfg, kopts, po.instance, u.name, w.group, w.attempts), consumer.WithEventTypes(w.types...))...)
		if err != nil {
			return nil, fmt.Errorf("%s consumer: %w", u.name, err)
		}
	}
	if cfg.Saga == SagaOrchestration {
		if err := p.orchestrate(cfg, codec, kopts, po.instance); err != nil {
			return nil, err
		}
	}
	topics, err := topicSpecs(platformTopics(kafka.DefaultPartitions), cfg.TopicOverrides)
	if err != nil {
		return nil, err
	}
	if err := p.makePruners(cfg.DedupRetention, cfg.NoDedupPrune, topics); err != nil {
		return nil, err
	}
	if err := p.mon.watch(p, ccfg, po.instance, log); err != nil {
		return nil, err
	}
	return p, nil
}

// consumerOpts are the options of service's consumer runner for group:
// its Kafka client (with the metrics hooks), retries, the handler metrics
// middleware, the rebalance histogram and the service's tracer provider.
func (p *platform) consumerOpts(cfg UpConfig, kopts []kgo.Opt, instance, service, group string, attempts int) []consumer.Opt {
	kopts = append(slices.Clone(kopts), kgo.ClientID(instance+"-"+group))
	if cfg.SessionTimeout > 0 {
		kopts = append(kopts, kgo.SessionTimeout(cfg.SessionTimeout))
	}
	if cfg.RebalanceTimeout > 0 {
		kopts = append(kopts, kgo.RebalanceTimeout(cfg.RebalanceTimeout))
	}
	return []consumer.Opt{
		consumer.WithKafkaOpts(kopts...),
		consumer.WithLogger(p.log.With("component", group)),
		consumer.WithMaxAttempts(attempts),
		consumer.WithBackoff(retryBase, retryMax),
		consumer.WithShutdownTimeout(cfg.ShutdownTimeout),
		consumer.WithMiddleware(p.mon.consumer.Middleware(group)),
		consumer.WithRebalanceObserver(p.mon.consumer.RebalanceObserver(group)),
		consumer.WithTracerProvider(p.tracers.Provider(service)),
		// The bus contract: a misrouted or foreign-source event is
		// dead-lettered (kind "contract"), never handled.
		consumer.WithContracts(schema.Contracts()),
	}
}

// monitoring is a process's /metrics: one registry with every collector
// of the platform's units.
type monitoring struct {
	reg      *prometheus.Registry
	kafka    *metrics.KafkaHooks
	consumer *metrics.ConsumerMetrics
	outbox   *metrics.OutboxMetrics
	http     *metrics.HTTPMetrics
	lagCl    *kgo.Client // the lag collector's client (watch)
}

// newMonitoring returns the registry (metrics.NewRegistry: Go runtime and
// process collectors) with the Kafka, consumer, outbox and HTTP
// collectors registered.
func newMonitoring() (*monitoring, error) {
	m := &monitoring{reg: metrics.NewRegistry()}
	var err error
	if m.kafka, err = metrics.NewKafkaHooks(m.reg); err != nil {
		return nil, err
	}
	if m.consumer, err = metrics.NewConsumerMetrics(m.reg); err != nil {
		return nil, err
	}
	if m.outbox, err = metrics.NewOutboxMetrics(m.reg); err != nil {
		return nil, err
	}
	if m.http, err = metrics.NewHTTPMetrics(m.reg); err != nil {
		return nil, err
	}
	return m, nil
}

// watch exports the counters of p's runners, the lag and dead-letter
// depth of their groups, and the orchestrator's saga states when the
// platform orchestrates.
func (m *monitoring) watch(p *platform, ccfg kafka.ClientConfig, instance string, log *slog.Logger) error {
	var groups []string
	for _, u := range p.units {
		m.consumer.Add(u.runner)
		groups = append(groups, u.runner.Group())
	}
	c := ccfg
	c.ClientID = instance + "-metrics"
	cl, err := kafka.NewClient(c)
	if err != nil {
		return fmt.Errorf("metrics kafka client: %w", err)
	}
	m.lagCl = cl
	if _, err := metrics.NewLagCollector(m.reg, kadm.NewClient(cl), cl, metrics.LagGroups(groups...),
		metrics.LagLogger(log.With("component", "metrics"))); err != nil {
		return err
	}
	if p.orders != nil {
		if err := m.watchEarly(p.orders); err != nil {
			return err
		}
	}
	if p.orders != nil && p.orders.Orchestrator() != nil {
		sm, err := metrics.NewSagaMetrics(m.reg)
		if err != nil {
			return err
		}
		o := p.orders.Orchestrator()
		sm.SetStateCounter("order", func(ctx context.Context) (map[string]int, error) {
			counts, err := o.Counts(ctx)
			out := make(map[string]int, len(counts))
			for st, n := range counts {
				out[sagaStateLabel(st)] = n
			}
			return out, err
		})
	}
	return nil
}

// watchEarly exports the order service's early saga events (events kept
// until the step they follow is handled, ordersvc early.go): how many wait
// and the age of the oldest. A count that stays up means a predecessor
// was lost or dead-lettered.
func (m *monitoring) watchEarly(svc *ordersvc.Service) error {
	stats := func() (int, time.Time) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, oldest, err := svc.EarlyStats(ctx)
		if err != nil {
			return 0, time.Time{}
		}
		return n, oldest
	}
	waiting := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "causeway_order_saga_early_events",
		Help: "Saga events the order service keeps until the step they follow is handled (choreography).",
	}, func() float64 { n, _ := stats(); return float64(n) })
	age := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "causeway_order_saga_early_oldest_age_seconds",
		Help: "Age of the oldest early saga event the order service keeps (0 when none).",
	}, func() float64 {
		if _, oldest := stats(); !oldest.IsZero() {
			return time.Since(oldest).Seconds()
		}
		return 0
	})
	for _, c := range []prometheus.Collector{waiting, age} {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("metrics: early saga events: %w", err)
		}
	}
	return nil
}

// Handler serves GET /metrics.
func (m *monitoring) Handler() http.Handler { return metrics.Handler(m.reg) }

// close closes the lag collector's client.
func (m *monitoring) close() {
	if m != nil && m.lagCl != nil {
		m.lagCl.Close()
	}
}

// openDLQ opens the dead-letter inspector behind /v1/dlq: its audit log in
// the database open returns (migrated here), and the databases of the
// groups this platform runs, for exact parked statuses.
func (p *platform) openDLQ(ctx context.Context, ccfg kafka.ClientConfig, instance string,
	open func(ctx context.Context) (*sqldb.DB, error)) error {
	db, err := open(ctx)
	if err != nil {
		return fmt.Errorf("dlq audit db: %w", err)
	}
	p.auditDB = db
	if err := db.Migrate(ctx, dlq.Migrations()); err != nil {
		return fmt.Errorf("dlq audit db: %w", err)
	}
	opts := []dlq.Opt{dlq.WithAudit(dlq.NewAudit(db)), dlq.WithLogger(p.log.With("component", "dlq"))}
	for _, u := range p.units {
		opts = append(opts, dlq.WithServiceDB(u.runner.Group(), u.db))
	}
	c := ccfg
	c.ClientID = instance + "-dlq"
	if p.dlq, err = dlq.New(c, opts...); err != nil {
		return err
	}
	return nil
}

// Start runs every relay and consumer runner in the background.
func (p *platform) Start(ctx context.Context) {
	relayCtx, relayStop := context.WithCancel(context.WithoutCancel(ctx))
	runCtx, runCancel := context.WithCancel(context.WithoutCancel(ctx))
	p.relayStop, p.runCancel = relayStop, runCancel
	p.runOrchestrator(runCtx)
	if p.orders != nil {
		p.runnersWG.Go(func() { p.orders.RunEarlySweeper(runCtx) })
	}
	p.startReadSide(runCtx)
	p.runPruners(runCtx)
	for _, u := range p.units {
		if u.relay != nil {
			p.relaysWG.Go(func() {
				if err := u.relay.Run(relayCtx); err != nil {
					p.log.Error("outbox relay stopped", "service", u.name, "err", err)
					p.fail(fmt.Errorf("%s outbox relay: %w", u.name, err))
				}
			})
		}
		p.runnersWG.Go(func() {
			if err := u.runner.Run(runCtx); err != nil {
				p.log.Error("consumer stopped", "service", u.name, "err", err)
				p.fail(fmt.Errorf("%s: %w", u.name, err))
			}
		})
	}
	if p.sender != nil {
		senderCtx, senderEnd := context.WithCancel(context.WithoutCancel(ctx))
		p.senderEnd = senderEnd
		p.senderWG.Go(func() { _ = p.sender.Run(senderCtx) })
	}
}

// fail reports a unit that stopped by itself (the first one is kept).
func (p *platform) fail(err error) {
	select {
	case p.failed <- err:
	default:
	}
}

// Failed delivers the error of the first consumer or relay that stopped
// by itself — the broker refused its group or topics, say. A process with
// a dead consumer must not stay up looking healthy: `up` and `serve` stop
// (draining the rest) and exit with it, for a supervisor to report and
// restart.
func (p *platform) Failed() <-chan error { return p.failed }

// Ready reports whether every relay publishes. On PostgreSQL a relay that
// waits for another process's relay to give up the leader lock is ready
// too: that is the normal state of the second `causeway serve` process.
func (p *platform) Ready(context.Context) error {
	if err := p.readSideReady(); err != nil {
		return err
	}
	for _, u := range p.units {
		if u.relay != nil && u.db.Dialect != sqldb.Postgres && !u.relay.Stats().Leader {
			return fmt.Errorf("%s outbox relay not running", u.name)
		}
	}
	return nil
}

// platformOpts are the settings of openPlatform beyond UpConfig.
type platformOpts struct {
	services map[string]bool // nil: every service
	open     func(ctx context.Context, name string) (*sqldb.DB, error)
	instance string // prefix of Kafka client IDs
}

// platformOpt is an option of openPlatform.
type platformOpt func(*platformOpts)

// withServices runs only the named services (names of serviceNames).
func withServices(names ...string) platformOpt {
	return func(o *platformOpts) {
		o.services = map[string]bool{}
		for _, n := range names {
			o.services[n] = true
		}
	}
}

// withOpener opens each service's database with open (not migrated yet)
// instead of a SQLite file under the data dir.
func withOpener(open func(ctx context.Context, name string) (*sqldb.DB, error)) platformOpt {
	return func(o *platformOpts) { o.open = open }
}

// withInstance prefixes the Kafka client IDs with id (default "causeway").
func withInstance(id string) platformOpt { return func(o *platformOpts) { o.instance = id } }

// serviceNames are the services openPlatform knows, in start order.
var serviceNames = []string{"order", "payment", "inventory", "shipping", "email", "analytics"}

// apiOptions are the HTTP API options of the services this platform runs:
// readiness, and live stock, mailbox and analytics when it runs the
// inventory, email and analytics services.
func (p *platform) apiOptions(log *slog.Logger) []httpapi.Option {
	opts := []httpapi.Option{httpapi.WithLogger(log.With("component", "http")), httpapi.WithReadiness(p.Ready),
		httpapi.WithTracerProvider(p.tracers.Provider("order")),
		httpapi.WithRoute("GET /metrics", httpapi.Public(), p.mon.Handler())}
	if p.dlq != nil {
		opts = append(opts, httpapi.WithDLQ(p.dlq))
	}
	if p.orders != nil && p.orders.Orchestrator() != nil {
		opts = append(opts, httpapi.WithSagas(p.orders.Orchestrator()))
	}
	if p.invDB != nil {
		opts = append(opts, httpapi.WithStock(p.Available))
	}
	if p.read != nil {
		opts = append(opts, httpapi.WithReadModel(p.read.svc))
	}
	if p.mailbox != nil {
		opts = append(opts, httpapi.WithMailbox(p.mailbox))
	}
	if p.analytics != nil {
		opts = append(opts, httpapi.WithAnalytics(p.analytics.Summary))
	}
	opts = append(opts, p.traceOption())
	dc := dashboard.Config{Metrics: p.mon.reg}
	if p.orders != nil {
		dc.Orders = p.orders
	}
	p.dash = dashboard.New(dc)
	opts = append(opts, httpapi.WithDashboard(p.dash))
	return opts
}

// opsHandler serves what a process without the API serves: GET /healthz,
// GET /readyz (p.Ready) and GET /metrics, none of them needing a token.
func (p *platform) opsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := p.Ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			b, _ := json.Marshal(map[string]string{"status": "not ready", "detail": err.Error()})
			_, _ = w.Write(append(b, '\n'))
			return
		}
		_, _ = io.WriteString(w, `{"status":"ready"}`+"\n")
	})
	mux.Handle("GET /metrics", p.mon.Handler())
	return mux
}

// Available returns the live available stock per product.
func (p *platform) Available(ctx context.Context) (map[string]int64, error) {
	levels, err := inventory.Levels(ctx, p.invDB)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(levels))
	for id, l := range levels {
		out[id] = l.Available
	}
	return out, nil
}

// Drain stops in order: the consumers (each finishes its transaction in
// flight and commits its offsets), then the relays after they published
// what is committed (bounded by the shutdown timeout).
func (p *platform) Drain() {
	if p.runCancel != nil {
		p.runCancel()
		p.runnersWG.Wait()
		p.log.Info("consumers stopped")
	}
	if p.senderEnd != nil {
		p.senderEnd() // mails not sent yet stay queued for the next start
		p.senderWG.Wait()
	}
	if p.relayStop != nil {
		for _, u := range p.units {
			if u.relay != nil {
				flushOutbox(u.relay, p.shutdownTO, p.log.With("service", u.name))
			}
		}
		p.relayStop()
		p.relaysWG.Wait()
		p.log.Info("outbox relays stopped")
	}
}

// Close closes the clients, the order service and the databases.
func (p *platform) Close() error {
	var errs []error
	if p.dlq != nil {
		p.dlq.Close()
	}
	p.mon.close()
	for _, u := range p.units {
		if u.client != nil {
			u.client.Close()
		}
	}
	if p.orders != nil {
		errs = append(errs, p.orders.Close())
	}
	for _, u := range p.units {
		if err := u.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s db: %w", u.name, err))
		}
	}
	errs = append(errs, p.closeReadSide())
	if p.auditDB != nil {
		if err := p.auditDB.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close dlq audit db: %w", err))
		}
	}
	p.log.Info("databases closed")
	tctx, cancel := context.WithTimeout(context.Background(), cmp.Or(p.shutdownTO, 10*time.Second))
	if err := p.tracers.Shutdown(tctx); err != nil {
		p.log.Warn("trace exporter shutdown", "err", err)
	}
	cancel()
	return errors.Join(errs...)
}
