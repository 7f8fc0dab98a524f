package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/outbox"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Saga styles of --saga.
const (
	SagaChoreography  = "choreography"
	SagaOrchestration = "orchestration"
)

// UpConfig is the configuration of `causeway up`.
type UpConfig struct {
	// DataDir holds the broker's log (DataDir/broker) and one SQLite file
	// per service (DataDir/order.db, …).
	DataDir string
	// HTTPAddr is where the HTTP API listens (port 0 picks a free port).
	HTTPAddr string
	// KafkaAddr is where the embedded broker listens (port 0 picks one).
	KafkaAddr string
	// Saga is SagaChoreography or SagaOrchestration.
	Saga string
	// SagaStepTimeout bounds the wait for each reply under orchestration;
	// a step that times out is compensated.
	SagaStepTimeout time.Duration
	// SyncWrites fsyncs SQLite commits (synchronous=FULL) and every broker
	// batch, so acknowledged writes survive power loss.
	SyncWrites bool
	// Catalog is a catalog JSON file replacing the default catalog.
	Catalog string
	// ShutdownTimeout bounds each step of the drain on stop.
	ShutdownTimeout time.Duration
	// SMTPAddr, when set (host:port), makes the email service also send
	// every mail it stores to this SMTP server (no auth, no TLS).
	SMTPAddr string
	// Auth is httpapi.AuthAuto (default: on unless HTTPAddr is loopback),
	// AuthOn or AuthOff.
	Auth string
	// AuthTokensFile is a tokens file (httpapi.ParseTokens).
	AuthTokensFile string
	// AuthTokens is an inline token specification, read only from the
	// environment (CAUSEWAY_AUTH_TOKENS), never from a flag.
	AuthTokens string
	// SessionTimeout is the consumer groups' Kafka session timeout (0:
	// franz-go's default, 45 s): how long a member that died without
	// leaving (kill -9) keeps its partitions before the group rebalances.
	SessionTimeout time.Duration
	// RebalanceTimeout bounds how long a rebalance waits for the members to
	// rejoin (0: franz-go's default, 60 s); a member killed during a
	// rebalance holds the group that long.
	RebalanceTimeout time.Duration
	// DedupRetention is the age beyond which processed-event (dedup) rows
	// are pruned (0: consumer.DefaultPruneWindow); see retention.go.
	DedupRetention time.Duration
	// NoDedupPrune keeps processed-event rows (and finished sagas)
	// forever; required when a topic the services read keeps records
	// forever.
	NoDedupPrune bool
	// TopicOverrides set topic configs (retention, compaction) over the
	// defaults, applied in order (--topic-config).
	TopicOverrides []kafka.TopicOverride
	// Tracing selects the OpenTelemetry exporter (off by default).
	Tracing TracingConfig
}

// AuthTokensEnv is the environment variable of inline API tokens (entries
// separated by ';' or newlines). It has no flag: a secret on a command
// line is visible to every user of the machine.
const AuthTokensEnv = "CAUSEWAY_AUTH_TOKENS"

// authConfig is the API's authentication settings for httpapi.
func authConfig(mode, httpAddr, tokensFile, tokens string) httpapi.AuthConfig {
	return httpapi.AuthConfig{Mode: mode, HTTPAddr: httpAddr, TokensFile: tokensFile, Tokens: tokens}
}

// resolveAuth resolves the API's authentication (reading the tokens) and
// logs the choice: auth=on or auth=off, a warning when off on an address
// other than loopback.
func resolveAuth(ac httpapi.AuthConfig, log *slog.Logger) (httpapi.Option, error) {
	opt, on, err := ac.Option()
	if err != nil {
		return nil, err
	}
	switch {
	case on:
		log.Info("http auth", "auth", "on")
	case httpapi.AuthRequired(ac.HTTPAddr):
		log.Warn("http auth is off on an address other than loopback: every route is open to anyone who can reach it",
			"auth", "off", "httpAddr", ac.HTTPAddr)
	default:
		log.Info("http auth", "auth", "off", "reason", "loopback address")
	}
	return opt, nil
}

// DefaultUpConfig returns the defaults of API.md.
func DefaultUpConfig() UpConfig {
	return UpConfig{
		DataDir:         "./data",
		HTTPAddr:        "127.0.0.1:8080",
		KafkaAddr:       kafka.DefaultBrokerAddr,
		Saga:            SagaChoreography,
		SagaStepTimeout: ordersaga.DefaultStepTimeout,
		ShutdownTimeout: 10 * time.Second,
		Auth:            httpapi.AuthAuto,
		Tracing:         DefaultTracingConfig(),
	}
}

// Validate reports every problem of c, joined.
func (c UpConfig) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required"))
	}
	for flag, addr := range map[string]string{"--http-addr": c.HTTPAddr, "--kafka-addr": c.KafkaAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", flag, addr, err))
		}
	}
	if c.Saga != SagaChoreography && c.Saga != SagaOrchestration {
		errs = append(errs, fmt.Errorf("--saga %q: must be %s or %s", c.Saga, SagaChoreography, SagaOrchestration))
	}
	if c.SMTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.SMTPAddr); err != nil {
			errs = append(errs, fmt.Errorf("--smtp-addr %q: %w", c.SMTPAddr, err))
		}
	}
	if c.SagaStepTimeout <= 0 {
		errs = append(errs, errors.New("--saga-step-timeout must be positive"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, errors.New("--shutdown-timeout must be positive"))
	}
	if _, _, err := authConfig(c.Auth, c.HTTPAddr, c.AuthTokensFile, c.AuthTokens).Option(); err != nil {
		errs = append(errs, fmt.Errorf("--auth: %w", err))
	}
	errs = append(errs, c.Tracing.Validate(), checkRetention(c.DedupRetention, c.NoDedupPrune, c.TopicOverrides))
	return errors.Join(errs...)
}

// RuntimeFile is the file, in the data dir, where a running `causeway up`
// writes the addresses it bound (JSON, see Runtime). It is removed on a
// clean stop.
const RuntimeFile = "causeway.json"

// Runtime is the content of RuntimeFile.
type Runtime struct {
	PID       int    `json:"pid"`
	HTTPAddr  string `json:"httpAddr"`
	KafkaAddr string `json:"kafkaAddr"`
	Saga      string `json:"saga"`
}

func newUpCmd() *cobra.Command {
	cfg := DefaultUpConfig()
	var pprofAddr string
	var gcPercent int
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run every service in one process, with the embedded broker and SQLite",
		Long: `Run Causeway on one machine: the embedded Kafka-protocol broker (persisted under
DATA-DIR/broker), the order, payment, inventory, shipping, email and analytics
services, each with its SQLite database (DATA-DIR/<service>.db), its consumer
group and (if it publishes) its outbox relay, running the saga chosen with --saga
(choreography: the services follow each other's events; orchestration: an
orchestrator in the order service sends commands and waits for replies), and
the HTTP API. With --smtp-addr the email service also sends its mails over SMTP. Ctrl-C stops cleanly:
the HTTP server drains, the consumers finish and commit, the relays publish what
is committed, then the clients, the databases and the broker close. Running it
again on the same --data-dir resumes where it stopped: sagas in flight go on.

Once listening it writes the bound addresses to DATA-DIR/` + RuntimeFile + `.

The API also serves GET /metrics (Prometheus, no token) and the dead-letter
routes under /v1/dlq (admin scope; audit log DATA-DIR/dlq.db). Auth: with
--auth=auto (default) tokens are required unless --http-addr is loopback;
give them with --auth-tokens-file or ` + AuthTokensEnv + ` (environment only).
An exposed address without tokens refuses to start.

Durability: by default SQLite runs with synchronous=NORMAL and the broker does
not fsync per batch, so a killed process loses nothing acknowledged but a power
loss can lose the last moments of writes; --sync-writes fsyncs both.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.AuthTokens = os.Getenv(AuthTokensEnv)
			cfg.Tracing.stdout = cmd.OutOrStdout()
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("up: %w", err)
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if err := applyGC(cmd.Flags(), gcPercent, log); err != nil {
				return fmt.Errorf("up: %w", err)
			}
			stopPprof, err := startPprof(pprofAddr, log)
			if err != nil {
				return fmt.Errorf("up: %w", err)
			}
			defer stopPprof()
			return runUp(cmd.Context(), cfg, log)
		},
	}
	f := cmd.Flags()
	addPprofFlag(f, &pprofAddr)
	addGCFlag(f, &gcPercent)
	f.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "data directory: DIR/broker, DIR/order.db, …")
	f.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "host:port of the HTTP API (port 0 picks a free port)")
	f.StringVar(&cfg.KafkaAddr, "kafka-addr", cfg.KafkaAddr, "host:port of the embedded Kafka broker (port 0 picks a free port)")
	f.StringVar(&cfg.Saga, "saga", cfg.Saga, "saga style: choreography or orchestration")
	f.DurationVar(&cfg.SagaStepTimeout, "saga-step-timeout", cfg.SagaStepTimeout, "orchestration: how long a saga step waits for its reply before it is compensated")
	f.BoolVar(&cfg.SyncWrites, "sync-writes", cfg.SyncWrites, "fsync SQLite commits and broker batches (survives power loss; slower)")
	f.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "product catalog JSON file replacing the default (p-1 … p-20, p-sold-out)")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "bound of each shutdown step (HTTP drain, outbox flush)")
	f.StringVar(&cfg.SMTPAddr, "smtp-addr", cfg.SMTPAddr, "host:port of an SMTP server the email service sends every mail to (default: mails are only stored)")
	addAuthFlags(f, &cfg.Auth, &cfg.AuthTokensFile, "on unless --http-addr is loopback")
	addRetentionFlags(f, &cfg.DedupRetention, &cfg.NoDedupPrune, &cfg.TopicOverrides)
	addTracingFlags(f, &cfg.Tracing)
	return cmd
}

// runUp runs until ctx is done, then drains and stops in order: HTTP, the
// consumers, the outbox relays (after they flushed what they can), the
// Kafka clients, the databases, the broker.
func runUp(ctx context.Context, cfg UpConfig, log *slog.Logger) (err error) {
	authOpt, err := resolveAuth(authConfig(cfg.Auth, cfg.HTTPAddr, cfg.AuthTokensFile, cfg.AuthTokens), log)
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	cat := catalog.Default()
	if cfg.Catalog != "" {
		if cat, err = catalog.LoadFile(cfg.Catalog); err != nil {
			return fmt.Errorf("up: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("up: data dir: %w", err)
	}
	runtimePath := filepath.Join(cfg.DataDir, RuntimeFile)
	_ = os.Remove(runtimePath) // stale from a killed run

	// Broker, with every topic and each group's dead-letter and replay
	// topics.
	topics, err := topicSpecs(platformTopics(kafka.DefaultPartitions), cfg.TopicOverrides)
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	bopts := []kafka.BrokerOpt{
		kafka.WithAddr(cfg.KafkaAddr),
		kafka.WithDataDir(filepath.Join(cfg.DataDir, "broker")),
		kafka.WithLogger(log.With("component", "broker")),
		kafka.WithTopics(topics...),
	}
	if cfg.SyncWrites {
		bopts = append(bopts, kafka.WithSyncWrites())
	}
	broker, err := kafka.StartBroker(ctx, bopts...)
	if err != nil {
		return fmt.Errorf("up: broker: %w", err)
	}
	defer func() {
		broker.Close()
		log.Info("broker closed")
	}()

	// Services: a SQLite file, a consumer runner and an outbox relay each.
	plat, err := openPlatform(ctx, cfg, cat, broker.ClientConfig(), log)
	if err != nil {
		return fmt.Errorf("up: %w", err)
	}
	defer func() {
		if cerr := plat.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("up: %w", cerr))
		}
	}()
	if err := plat.openDLQ(ctx, broker.ClientConfig(), "causeway", func(ctx context.Context) (*sqldb.DB, error) {
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "dlq.db"), sqlite.SyncWrites(cfg.SyncWrites))
	}); err != nil {
		return fmt.Errorf("up: %w", err)
	}
	plat.Start(ctx)

	// HTTP.
	api := plat.mon.http.Middleware(httpapi.New(plat.orders, cat, append(plat.apiOptions(log), authOpt)...))
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		plat.Drain()
		return fmt.Errorf("up: http: %w", err)
	}
	hs := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
	if plat.dash != nil {
		hs.RegisterOnShutdown(plat.dash.Close) // Shutdown waits for the dashboard's event streams
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()

	rt := Runtime{PID: os.Getpid(), HTTPAddr: ln.Addr().String(), KafkaAddr: broker.Addr(), Saga: cfg.Saga}
	if err := writeRuntime(runtimePath, rt); err != nil {
		log.Warn("cannot write runtime file", "path", runtimePath, "err", err)
	}
	log.Info("causeway up", "http", "http://"+rt.HTTPAddr, "kafka", rt.KafkaAddr, "dataDir", cfg.DataDir,
		"saga", cfg.Saga, "syncWrites", cfg.SyncWrites, "traceExporter", cfg.Tracing.Exporter)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("stopping")
	case err := <-serveErr:
		runErr = fmt.Errorf("up: http: %w", err)
	case err := <-plat.Failed():
		runErr = fmt.Errorf("up: %w", err)
		log.Error("stopping: a consumer or relay stopped by itself", "err", err)
	}
	_ = os.Remove(runtimePath)

	// 1. HTTP: no new requests; in-flight ones finish.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
		_ = hs.Close()
	}
	cancel()
	log.Info("http stopped")
	// 2. Consumers finish their transactions and commit; relays publish
	// what is committed (bounded), then stop.
	plat.Drain()
	// 3. clients, databases, broker: the deferred closes, in reverse order.
	return runErr
}

// flushOutbox waits until the outbox is empty, the relay stopped being able
// to publish, or timeout passed. Rows left are published on the next start.
func flushOutbox(relay *outbox.Relay, timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		n, err := relay.Backlog(ctx)
		if err == nil && n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			log.Warn("outbox not empty at shutdown; it will be published on the next start", "backlog", n, "err", err)
			return
		case <-tick.C:
		}
	}
}

func writeRuntime(path string, rt Runtime) error {
	b, err := json.MarshalIndent(rt, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// addAuthFlags adds --auth and --auth-tokens-file (the tokens themselves
// can also come from CAUSEWAY_AUTH_TOKENS, which has no flag).
func addAuthFlags(f *pflag.FlagSet, mode, tokensFile *string, autoMeans string) {
	f.StringVar(mode, "auth", *mode, "API bearer tokens: auto ("+autoMeans+"), on or off")
	f.StringVar(tokensFile, "auth-tokens-file", *tokensFile,
		"file of API tokens, one 'NAME SCOPES SECRET' per line (more in $"+AuthTokensEnv+", environment only)")
}
