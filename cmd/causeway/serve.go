package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/postgres"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// ServeConfig is the configuration of `causeway serve`.
type ServeConfig struct {
	// Services are the services this process runs (serviceNames).
	Services []string
	// Kafka is how to reach the cluster: brokers, SASL, TLS.
	Kafka kafka.ClientConfig
	// Partitions and ReplicationFactor are used to create missing topics;
	// an existing topic with another partition count is an error.
	// ReplicationFactor -1 means the broker's default.
	Partitions        int32
	ReplicationFactor int16
	// Postgres is a PostgreSQL URL; each service uses its own schema
	// (<service>_service). Exclusive with DataDir.
	Postgres string
	// PostgresMaxConns bounds each service's connection pool.
	PostgresMaxConns int
	// DataDir holds one SQLite file per service (DATA-DIR/<service>.db)
	// when Postgres is empty. A SQLite file belongs to one process.
	DataDir string
	// SyncWrites makes SQLite commits fsync (synchronous=FULL).
	SyncWrites bool
	// HTTPAddr is where the HTTP API listens when the order service runs
	// here; empty disables HTTP.
	HTTPAddr string
	// Saga is SagaChoreography or SagaOrchestration.
	Saga string
	// SagaStepTimeout bounds the wait for each reply under orchestration.
	SagaStepTimeout time.Duration
	// InstanceID names this process in logs and Kafka client IDs.
	InstanceID string
	// Catalog is a catalog JSON file replacing the default catalog.
	Catalog string
	// SMTPAddr makes the email service send its mails over SMTP.
	SMTPAddr string
	// ShutdownTimeout bounds each step of the drain on stop.
	ShutdownTimeout time.Duration
	// DedupRetention is UpConfig.DedupRetention.
	DedupRetention time.Duration
	// NoDedupPrune is UpConfig.NoDedupPrune.
	NoDedupPrune bool
	// TopicOverrides is UpConfig.TopicOverrides: serve brings the topics'
	// configs to them at start.
	TopicOverrides []kafka.TopicOverride
	// SessionTimeout is UpConfig.SessionTimeout.
	SessionTimeout time.Duration
	// RebalanceTimeout is UpConfig.RebalanceTimeout.
	RebalanceTimeout time.Duration
	// Auth is httpapi.AuthOn (default), AuthAuto or AuthOff; it applies to
	// the API of a process running the order service.
	Auth string
	// AuthTokensFile is a tokens file (httpapi.ParseTokens).
	AuthTokensFile string
	// AuthTokens is an inline token specification, from the environment
	// only (CAUSEWAY_AUTH_TOKENS).
	AuthTokens string
	// OpsHTTP makes a process without the order service serve /healthz,
	// /readyz and /metrics on HTTPAddr. The command sets it when
	// --http-addr (or CAUSEWAY_HTTP_ADDR) is given explicitly, so that
	// several such processes on one machine do not fight over the default
	// port.
	OpsHTTP bool
	// Tracing selects the OpenTelemetry exporter (off by default).
	Tracing TracingConfig
}

// DLQSchema is the PostgreSQL schema of the dead-letter audit log under
// `serve --postgres`.
const DLQSchema = "dlq"

// SchemaOf is the PostgreSQL schema of a service under `serve --postgres`.
func SchemaOf(service string) string { return service + "_service" }

// DefaultServeConfig returns the defaults of `causeway serve`.
func DefaultServeConfig() ServeConfig {
	host, _ := os.Hostname()
	if host == "" {
		host = "causeway"
	}
	return ServeConfig{
		Services:          slices.Clone(serviceNames),
		Partitions:        kafka.DefaultPartitions,
		ReplicationFactor: -1,
		PostgresMaxConns:  10,
		HTTPAddr:          "127.0.0.1:8080",
		Saga:              SagaChoreography,
		SagaStepTimeout:   ordersaga.DefaultStepTimeout,
		InstanceID:        fmt.Sprintf("%s-%d", host, os.Getpid()),
		ShutdownTimeout:   10 * time.Second,
		Auth:              httpapi.AuthOn,
		Tracing:           DefaultTracingConfig(),
	}
}

// Validate reports every problem of c, joined.
func (c ServeConfig) Validate() error {
	var errs []error
	if len(c.Services) == 0 {
		errs = append(errs, errors.New("--services: none given"))
	}
	seen := map[string]bool{}
	for _, s := range c.Services {
		if !slices.Contains(serviceNames, s) && s != readServiceName {
			errs = append(errs, fmt.Errorf("--services: unknown service %q (known: %s,%s)", s, strings.Join(serviceNames, ","), readServiceName))
		}
		if seen[s] {
			errs = append(errs, fmt.Errorf("--services: %q given twice", s))
		}
		seen[s] = true
	}
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--brokers/--sasl-*/--tls-*: %w", err))
	}
	if c.Partitions < 1 {
		errs = append(errs, errors.New("--partitions must be at least 1"))
	}
	if c.ReplicationFactor == 0 || c.ReplicationFactor < -1 {
		errs = append(errs, errors.New("--replication-factor must be -1 (broker default) or at least 1"))
	}
	switch {
	case c.Postgres != "" && c.DataDir != "":
		errs = append(errs, errors.New("--postgres and --data-dir are exclusive"))
	case c.Postgres == "" && c.DataDir == "":
		errs = append(errs, errors.New("one of --postgres URL or --data-dir DIR is required"))
	}
	if c.PostgresMaxConns < 2 {
		errs = append(errs, errors.New("--postgres-max-conns must be at least 2"))
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("--http-addr %q: %w", c.HTTPAddr, err))
		}
	}
	if c.Saga != SagaChoreography && c.Saga != SagaOrchestration {
		errs = append(errs, fmt.Errorf("--saga %q: must be %s or %s", c.Saga, SagaChoreography, SagaOrchestration))
	}
	if c.SagaStepTimeout <= 0 {
		errs = append(errs, errors.New("--saga-step-timeout must be positive"))
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("--smtp-addr %q: %w", c.SMTPAddr, err))
		}
	}
	if c.InstanceID == "" {
		errs = append(errs, errors.New("--instance-id must not be empty"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout must be positive"))
	}
	if c.runsHTTP() {
		if _, _, err := authConfig(c.Auth, c.HTTPAddr, c.AuthTokensFile, c.AuthTokens).Option(); err != nil {
			errs = append(errs, fmt.Errorf("--auth: %w", err))
		}
	} else if m := c.Auth; m != "" && m != httpapi.AuthAuto && m != httpapi.AuthOn && m != httpapi.AuthOff {
		errs = append(errs, fmt.Errorf("--auth %q: want auto, on or off", m))
	}
	errs = append(errs, c.Tracing.Validate(), checkRetention(c.DedupRetention, c.NoDedupPrune, c.TopicOverrides))
	return errors.Join(errs...)
}

// runsOpsHTTP tells whether this process, which does not serve the API,
// serves /healthz, /readyz and /metrics on HTTPAddr.
func (c ServeConfig) runsOpsHTTP() bool {
	return c.HTTPAddr != "" && c.OpsHTTP && !c.runsHTTP()
}

// runsHTTP tells whether this process serves the HTTP API: the API is the
// order service's, so only a process running it listens.
func (c ServeConfig) runsHTTP() bool {
	return c.HTTPAddr != "" && slices.Contains(c.Services, "order")
}

func newServeCmd() *cobra.Command {
	cfg := DefaultServeConfig()
	var brokers, pprofAddr string
	var gcPercent int
	services := strings.Join(cfg.Services, ",")
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run some services against an external Kafka cluster (scale out: run many copies)",
		Long: `Run any subset of Causeway's services (order, payment, inventory, shipping, email,
analytics) against an external Kafka cluster (Apache Kafka, Redpanda, MSK, or
a standalone ` + "`causeway broker`" + `). Run as many copies as you like: processes running
the same service share its work through the service's consumer group.

Storage: with --postgres each service keeps its data in its own schema
(order_service, payment_service, …) of that database, and any number of
processes may run the same service; their outbox relays elect one publisher
per schema with an advisory lock. With --data-dir each service uses
DATA-DIR/<service>.db (SQLite): a SQLite file belongs to one process, so run
each service in one process only.

At start the topics are created if missing (--partitions,
--replication-factor) and checked: an existing topic with another partition
count is an error, never altered. The HTTP API (--http-addr) is served by
processes that run the order service; the live stock, mailbox and analytics
routes need the inventory, email and analytics services in the same process.
A process without the order service serves only GET /healthz, /readyz and
/metrics, and only when --http-addr is given explicitly.

The API requires bearer tokens by default (--auth=on): give them with
--auth-tokens-file or ` + AuthTokensEnv + ` (environment only), or choose
--auth=auto (off on loopback) or --auth=off. /healthz, /readyz and /metrics
need no token; /v1/dlq needs the admin scope (audit log: the "dlq" schema
with --postgres, DATA-DIR/dlq.db with --data-dir).
Ctrl-C (SIGINT/SIGTERM) drains: HTTP stops taking requests, consumers finish
and commit, relays publish what is committed, then everything closes.

Durability: PostgreSQL with synchronous_commit on; Kafka with acks=all (use
replication factor 3 and min.insync.replicas 2 on a real cluster).`,
		Example: `  causeway broker --data-dir /var/lib/causeway --kafka-addr 127.0.0.1:9092 &
  causeway serve --brokers 127.0.0.1:9092 --postgres postgres://u@db/causeway \
      --services order,payment,inventory,shipping --http-addr :8080 --instance-id a &
  causeway serve --brokers 127.0.0.1:9092 --postgres postgres://u@db/causeway \
      --services payment,inventory,shipping,email,analytics --instance-id b`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Services = splitList(services)
			cfg.Kafka.Brokers = splitList(brokers)
			cfg.AuthTokens = os.Getenv(AuthTokensEnv)
			cfg.Tracing.stdout = cmd.OutOrStdout()
			_, env := os.LookupEnv(envName("http-addr"))
			cfg.OpsHTTP = cmd.Flags().Changed("http-addr") || env
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)).With("instance", cfg.InstanceID)
			if err := applyGC(cmd.Flags(), gcPercent, log); err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			stopPprof, err := startPprof(pprofAddr, log)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			defer stopPprof()
			return runServe(cmd.Context(), cfg, log)
		},
	}
	f := cmd.Flags()
	addPprofFlag(f, &pprofAddr)
	addGCFlag(f, &gcPercent)
	f.StringVar(&services, "services", services, "comma-separated services to run: "+strings.Join(serviceNames, ","))
	f.StringVar(&brokers, "brokers", "", "comma-separated seed brokers, host:port (required)")
	f.StringVar(&cfg.Kafka.SASL.Mechanism, "sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (default: no SASL)")
	f.StringVar(&cfg.Kafka.SASL.User, "sasl-user", "", "SASL user")
	f.StringVar(&cfg.Kafka.SASL.Password, "sasl-password", "", "SASL password (prefer CAUSEWAY_SASL_PASSWORD)")
	f.BoolVar(&cfg.Kafka.TLS.Enabled, "tls", false, "connect to the brokers over TLS")
	f.StringVar(&cfg.Kafka.TLS.CAFile, "tls-ca-file", "", "PEM file of CAs to trust instead of the system's (needs --tls)")
	f.StringVar(&cfg.Kafka.TLS.CertFile, "tls-cert-file", "", "PEM client certificate for mutual TLS (needs --tls and --tls-key-file)")
	f.StringVar(&cfg.Kafka.TLS.KeyFile, "tls-key-file", "", "PEM key of --tls-cert-file")
	f.BoolVar(&cfg.Kafka.TLS.InsecureSkipVerify, "tls-insecure-skip-verify", false, "accept any broker certificate (testing only)")
	f.Int32Var(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of each topic created at start; an existing topic with another count is an error")
	f.Int16Var(&cfg.ReplicationFactor, "replication-factor", cfg.ReplicationFactor, "replication factor of topics created at start (-1: the broker's default; 3 in production)")
	f.StringVar(&cfg.Postgres, "postgres", "", "PostgreSQL URL; each service uses its own schema <service>_service")
	f.IntVar(&cfg.PostgresMaxConns, "postgres-max-conns", cfg.PostgresMaxConns, "connection pool size of each service")
	f.StringVar(&cfg.DataDir, "data-dir", "", "directory of the services' SQLite files (instead of --postgres; one process per service)")
	f.BoolVar(&cfg.SyncWrites, "sync-writes", false, "SQLite only: fsync every commit (synchronous=FULL)")
	f.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "host:port of the HTTP API, served when the order service runs here (empty: no HTTP)")
	f.StringVar(&cfg.Saga, "saga", cfg.Saga, "saga style: choreography or orchestration (the same in every process)")
	f.DurationVar(&cfg.SagaStepTimeout, "saga-step-timeout", cfg.SagaStepTimeout, "orchestration: how long a saga step waits for its reply before it is compensated")
	f.StringVar(&cfg.InstanceID, "instance-id", cfg.InstanceID, "name of this process in logs and Kafka client IDs (default host-pid)")
	f.StringVar(&cfg.Catalog, "catalog", "", "product catalog JSON file replacing the default (the same in every process)")
	f.StringVar(&cfg.SMTPAddr, "smtp-addr", "", "host:port of an SMTP server the email service sends every mail to")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "bound of each shutdown step (HTTP drain, outbox flush)")
	addAuthFlags(f, &cfg.Auth, &cfg.AuthTokensFile, "on unless --http-addr is loopback")
	addRetentionFlags(f, &cfg.DedupRetention, &cfg.NoDedupPrune, &cfg.TopicOverrides)
	addTracingFlags(f, &cfg.Tracing)
	f.DurationVar(&cfg.SessionTimeout, "kafka-session-timeout", 0,
		"consumer groups' session timeout: how long a killed member keeps its partitions (0: the client default, 45s; the broker bounds it)")
	f.DurationVar(&cfg.RebalanceTimeout, "kafka-rebalance-timeout", 0,
		"how long a rebalance waits for members to rejoin (0: the client default, 60s)")
	return cmd
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// serveTopics are the topics serve ensures: the fixed ones and every
// group's dead-letter and replay topics.
func serveTopics(partitions int32, rf int16) []kafka.TopicSpec {
	specs := kafka.DefaultTopics(partitions, rf)
	for _, g := range serviceGroups {
		specs = append(specs, kafka.GroupTopicSpecs(g, partitions, rf)...)
	}
	return specs
}

// runServe runs cfg's services until ctx is done, then drains and stops in
// the order of runUp.
func runServe(ctx context.Context, cfg ServeConfig, log *slog.Logger) (err error) {
	var authOpt httpapi.Option
	if cfg.runsHTTP() {
		if authOpt, err = resolveAuth(authConfig(cfg.Auth, cfg.HTTPAddr, cfg.AuthTokensFile, cfg.AuthTokens), log); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	cat := catalog.Default()
	if cfg.Catalog != "" {
		if cat, err = catalog.LoadFile(cfg.Catalog); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	ccfg := cfg.Kafka
	ccfg.ClientID = cfg.InstanceID
	topics, err := topicSpecs(serveTopics(cfg.Partitions, cfg.ReplicationFactor), cfg.TopicOverrides)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if err := ensureServeTopics(ctx, ccfg, topics, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	upCfg := UpConfig{DataDir: cfg.DataDir, Saga: cfg.Saga, SagaStepTimeout: cfg.SagaStepTimeout, SyncWrites: cfg.SyncWrites,
		ShutdownTimeout: cfg.ShutdownTimeout, SMTPAddr: cfg.SMTPAddr, DedupRetention: cfg.DedupRetention,
		NoDedupPrune: cfg.NoDedupPrune, TopicOverrides: cfg.TopicOverrides,
		Tracing: cfg.Tracing, SessionTimeout: cfg.SessionTimeout, RebalanceTimeout: cfg.RebalanceTimeout}
	opts := []platformOpt{withServices(cfg.Services...), withInstance(cfg.InstanceID)}
	if cfg.Postgres != "" {
		opts = append(opts, withOpener(func(ctx context.Context, name string) (*sqldb.DB, error) {
			return openPostgres(ctx, cfg.Postgres, SchemaOf(name), cfg.PostgresMaxConns)
		}))
	} else if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("serve: data dir: %w", err)
	}
	plat, err := openPlatform(ctx, upCfg, cat, ccfg, log, opts...)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	defer func() {
		if cerr := plat.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("serve: %w", cerr))
		}
	}()
	if cfg.runsHTTP() {
		openAudit := func(ctx context.Context) (*sqldb.DB, error) {
			return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "dlq.db"), sqlite.SyncWrites(cfg.SyncWrites))
		}
		if cfg.Postgres != "" {
			openAudit = func(ctx context.Context) (*sqldb.DB, error) {
				return openPostgres(ctx, cfg.Postgres, DLQSchema, min(cfg.PostgresMaxConns, 4))
			}
		}
		if err := plat.openDLQ(ctx, ccfg, cfg.InstanceID, openAudit); err != nil {
			return fmt.Errorf("serve: %w", err)
		}
	}
	plat.Start(ctx)

	var hs *http.Server
	serveErr := make(chan error, 1)
	httpAddr := ""
	var handler http.Handler
	switch {
	case cfg.runsHTTP():
		handler = plat.mon.http.Middleware(httpapi.New(plat.orders, cat, append(plat.apiOptions(log), authOpt)...))
	case cfg.runsOpsHTTP():
		handler = plat.mon.http.Middleware(plat.opsHandler())
	}
	if handler != nil {
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			plat.Drain()
			return fmt.Errorf("serve: http: %w", err)
		}
		hs = &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
		}
		if plat.dash != nil {
			hs.RegisterOnShutdown(plat.dash.Close) // Shutdown waits for the dashboard's event streams
		}
		go func() { serveErr <- hs.Serve(ln) }()
		httpAddr = "http://" + ln.Addr().String()
	}
	log.Info("causeway serve", "services", strings.Join(cfg.Services, ","), "brokers", strings.Join(cfg.Kafka.Brokers, ","),
		"storage", storageOf(cfg), "http", httpAddr, "saga", cfg.Saga, "traceExporter", cfg.Tracing.Exporter)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-serveErr:
		runErr = fmt.Errorf("serve: http: %w", err)
	case err := <-plat.Failed():
		runErr = fmt.Errorf("serve: %w", err)
		log.Error("stopping: a consumer or relay stopped by itself", "err", err)
	}
	if hs != nil {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		if err := hs.Shutdown(sctx); err != nil {
			log.Warn("http shutdown", "err", err)
			_ = hs.Close()
		}
		cancel()
		log.Info("http stopped")
	}
	plat.Drain()
	return runErr
}

// ensureServeTopics creates the missing topics, checks the existing ones
// and brings their configs to the specs (logging each change).
func ensureServeTopics(ctx context.Context, ccfg kafka.ClientConfig, specs []kafka.TopicSpec, log *slog.Logger) error {
	adm, err := kafka.NewAdmin(ccfg)
	if err != nil {
		return err
	}
	defer adm.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	changes, err := kafka.EnsureTopicsChanges(tctx, adm, specs...)
	for _, c := range changes {
		if c.Err != nil {
			log.Warn("topic config differs from its spec and could not be changed", "topic", c.Topic, "key", c.Key,
				"from", c.From, "to", c.To, "err", c.Err)
			continue
		}
		log.Info("topic config changed to its spec", "topic", c.Topic, "key", c.Key, "from", c.From, "to", c.To)
	}
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	return nil
}

// storageOf describes cfg's storage for the log, without credentials.
func storageOf(cfg ServeConfig) string {
	if cfg.Postgres == "" {
		return "sqlite:" + cfg.DataDir
	}
	return "postgres (schemas <service>_service)"
}

// openPostgres opens a service's schema. Two processes starting together
// may both run CREATE SCHEMA IF NOT EXISTS, and PostgreSQL then fails one
// of them with a unique violation (23505) on pg_namespace; the schema
// exists by then, so the open is retried a few times.
func openPostgres(ctx context.Context, url, schema string, maxConns int) (*sqldb.DB, error) {
	for attempt := 1; ; attempt++ {
		db, err := postgres.Open(ctx, url, schema, postgres.MaxConns(maxConns))
		var pgErr *pgconn.PgError
		if err == nil || attempt == 5 || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
			return db, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}
