package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultBrokerAddr is where the embedded broker listens unless configured:
// Kafka's usual port on the loopback interface only.
const DefaultBrokerAddr = "127.0.0.1:9092"

// DefaultRetentionCheckInterval is how often the embedded broker enforces
// retention (Kafka's log.cleaner.backoff.ms; kfake's own default is an
// hour). Between two checks a topic may grow past its retention.bytes by
// whatever is produced meanwhile, so the interval is short.
const DefaultRetentionCheckInterval = 30 * time.Second

// Broker is Causeway's embedded Kafka-protocol broker: franz-go's kfake
// with one node, listening on a real TCP address, so that kgo, kcat and any
// Kafka client can connect.
//
// It is a single node with no replication: the data directory is the only
// copy of every record. It is meant for one machine (`causeway up`,
// `causeway broker`, tests), not as a replacement for a Kafka cluster.
//
// Durability with WithDataDir: records, topics, committed group offsets and
// producer state are written to the directory as they arrive and reloaded
// by the next StartBroker on it. Without WithSyncWrites nothing is fsynced
// per batch (like Kafka's default flush policy): a killed process loses
// nothing acknowledged, since the writes are in the OS page cache, but a
// power loss or kernel crash can lose the last acknowledged writes. With
// WithSyncWrites every produced batch is fsynced before it is acknowledged,
// so acknowledged records survive a power loss too, at a cost in
// throughput. On recovery, kfake cuts a partition's segment at the first
// corrupt or partial batch, dropping it and everything after it in that
// segment. Producer idempotence does not survive a broker crash: after a
// restart, retried batches can come back as duplicates, so consumers must
// deduplicate by event id.
//
// The broker keeps every retained record in memory and re-reads the whole
// data directory at start; topic retention (see TopicSpec.Retention)
// bounds both.
//
// A Broker is safe for concurrent use.
type Broker struct {
	c      *kfake.Cluster
	addr   string
	client ClientConfig
	log    *slog.Logger
}

// BrokerOpt configures StartBroker.
type BrokerOpt interface{ apply(*brokerCfg) }

type brokerOptFn func(*brokerCfg)

func (f brokerOptFn) apply(c *brokerCfg) { f(c) }

type saslUser struct {
	mech, user, pass string
	super            bool
	acls             []kfake.ACL
}

type brokerCfg struct {
	addr       string
	advertised string
	dataDir    string
	syncWrites bool
	partitions int32
	topics     []TopicSpec
	topicsSet  bool
	log        *slog.Logger
	users      []saslUser
	acls       bool
	retention  time.Duration
	// keepConfigs: ensure existing topics without aligning their configs.
	keepConfigs bool
	// tlsCert, tlsKey: serve TLS with this certificate; tlsCA is what the
	// broker's own client trusts (WithTLS).
	tlsCert, tlsKey, tlsCA string
}

// WithAddr sets the host:port to listen on (default DefaultBrokerAddr).
// Port 0 picks a free port; Broker.Addr reports it. A host of "" or
// 0.0.0.0 listens on every interface and needs WithAdvertisedHost.
func WithAddr(addr string) BrokerOpt { return brokerOptFn(func(c *brokerCfg) { c.addr = addr }) }

// WithAdvertisedHost sets the host the broker tells clients to connect to
// (in metadata responses), instead of the host it listens on.
func WithAdvertisedHost(host string) BrokerOpt {
	return brokerOptFn(func(c *brokerCfg) { c.advertised = host })
}

// WithDataDir persists the broker in dir (created if missing) and reloads
// it from there at start. Without it, the broker lives in memory only.
func WithDataDir(dir string) BrokerOpt { return brokerOptFn(func(c *brokerCfg) { c.dataDir = dir }) }

// WithSyncWrites fsyncs every produced batch before acknowledging it, so
// acknowledged records survive a power loss. Needs WithDataDir.
func WithSyncWrites() BrokerOpt { return brokerOptFn(func(c *brokerCfg) { c.syncWrites = true }) }

// WithPartitions sets the partition count of the default topics and of
// topics created without one (default DefaultPartitions).
func WithPartitions(n int32) BrokerOpt { return brokerOptFn(func(c *brokerCfg) { c.partitions = n }) }

// WithTopics replaces the topics created at start (by default
// DefaultTopics with the broker's partition count); none for no topics.
func WithTopics(specs ...TopicSpec) BrokerOpt {
	return brokerOptFn(func(c *brokerCfg) { c.topics, c.topicsSet = specs, true })
}

// WithLogger receives the broker's logs: its address at info, kfake's
// errors and warnings as such and its request logs at debug. nil discards.
func WithLogger(l *slog.Logger) BrokerOpt { return brokerOptFn(func(c *brokerCfg) { c.log = l }) }

// WithSASLSuperuser turns SASL on and adds a superuser, who bypasses ACLs.
// mechanism is SASLPlain, SASLScramSHA256 or SASLScramSHA512. The broker
// uses the first superuser to create its topics; Broker.ClientConfig
// carries it.
func WithSASLSuperuser(mechanism, user, password string) BrokerOpt {
	return brokerOptFn(func(c *brokerCfg) {
		c.users = append(c.users, saslUser{mech: mechanism, user: user, pass: password, super: true})
	})
}

// WithSASLUser turns SASL on and adds an ordinary user, subject to ACLs
// (see WithACLs), with the given ACLs (their Principal is ignored).
func WithSASLUser(mechanism, user, password string, acls ...kfake.ACL) BrokerOpt {
	return brokerOptFn(func(c *brokerCfg) {
		c.users = append(c.users, saslUser{mech: mechanism, user: user, pass: password, acls: acls})
	})
}

// WithACLs enforces ACLs: a user may do only what an ACL allows; superusers
// may do everything. Needs SASL users.
func WithACLs() BrokerOpt { return brokerOptFn(func(c *brokerCfg) { c.acls = true }) }

// WithTLS makes the broker accept only TLS connections, with the PEM
// certificate certFile and its key keyFile. caFile is the PEM file of the
// CA that signed it, which the broker's own admin client (it creates the
// topics) trusts; "" trusts the system's roots. Clients connect with
// ClientConfig.TLS (causeway serve --tls --tls-ca-file).
func WithTLS(certFile, keyFile, caFile string) BrokerOpt {
	return brokerOptFn(func(c *brokerCfg) { c.tlsCert, c.tlsKey, c.tlsCA = certFile, keyFile, caFile })
}

// WithKeepTopicConfigs makes the broker create its missing topics at
// start but leave the configs of existing ones as they are
// (EnsureTopicsExist), instead of bringing them to their specs: for a
// standalone broker whose topics' configs are owned by the processes
// using it (causeway serve --topic-config).
func WithKeepTopicConfigs() BrokerOpt {
	return brokerOptFn(func(c *brokerCfg) { c.keepConfigs = true })
}

// WithRetentionCheckInterval sets how often retention is enforced
// (default DefaultRetentionCheckInterval).
func WithRetentionCheckInterval(d time.Duration) BrokerOpt {
	return brokerOptFn(func(c *brokerCfg) { c.retention = d })
}

// validate checks the configuration and returns the listen address.
func (c *brokerCfg) validate() error {
	var errs []error
	host, port, err := net.SplitHostPort(c.addr)
	if err != nil {
		errs = append(errs, fmt.Errorf("addr %q: want host:port: %w", c.addr, err))
	} else {
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("addr %q: port %q is not in 0-65535", c.addr, port))
		}
		if ip := net.ParseIP(host); (host == "" || ip != nil && ip.IsUnspecified()) && c.advertised == "" {
			errs = append(errs, fmt.Errorf("addr %q listens on every interface: set an advertised host for clients", c.addr))
		}
	}
	if c.partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions %d, want at least 1", c.partitions))
	}
	if c.syncWrites && c.dataDir == "" {
		errs = append(errs, errors.New("sync writes need a data dir"))
	}
	if c.retention <= 0 {
		errs = append(errs, fmt.Errorf("retention check interval %v, want more than 0", c.retention))
	}
	supers := 0
	for _, u := range c.users {
		switch u.mech {
		case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		default:
			errs = append(errs, fmt.Errorf("sasl user %q: mechanism %q, want %s, %s or %s", u.user, u.mech, SASLPlain, SASLScramSHA256, SASLScramSHA512))
		}
		if u.user == "" || u.pass == "" {
			errs = append(errs, fmt.Errorf("sasl user %q: empty user or password", u.user))
		}
		if u.super {
			supers++
		}
	}
	if len(c.users) > 0 && supers == 0 {
		errs = append(errs, errors.New("sasl: at least one superuser is needed (the broker creates its topics as it)"))
	}
	if c.acls && len(c.users) == 0 {
		errs = append(errs, errors.New("acls need sasl users"))
	}
	return errors.Join(errs...)
}

// StartBroker starts the embedded broker, waits until it listens and
// creates its topics (EnsureTopics: an existing topic with another
// partition count is an error). ctx bounds the start only; stop the broker
// with Close.
func StartBroker(ctx context.Context, opts ...BrokerOpt) (*Broker, error) {
	cfg := brokerCfg{addr: DefaultBrokerAddr, partitions: DefaultPartitions, retention: DefaultRetentionCheckInterval}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("kafka: broker config: %w", err)
	}
	log := orDiscard(cfg.log)
	if !cfg.topicsSet {
		cfg.topics = DefaultTopics(cfg.partitions, -1)
	}

	listen := func(network, _ string) (net.Listener, error) {
		ln, err := net.Listen(network, cfg.addr)
		if err != nil {
			return nil, err
		}
		if cfg.advertised != "" {
			return advertisedListener{ln, cfg.advertised}, nil
		}
		return ln, nil
	}
	kopts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.ClusterID("causeway"),
		kfake.DefaultNumPartitions(int(cfg.partitions)),
		kfake.WithLogger(kfakeLogger{log}),
		kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.FormatInt(cfg.retention.Milliseconds(), 10),
		}),
	}
	if cfg.dataDir != "" {
		kopts = append(kopts, kfake.DataDir(cfg.dataDir))
	}
	if cfg.syncWrites {
		kopts = append(kopts, kfake.SyncWrites())
	}
	client := ClientConfig{ClientID: "causeway-broker"}
	if cfg.tlsCert != "" || cfg.tlsKey != "" {
		cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("kafka: broker tls: %w", err)
		}
		kopts = append(kopts, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
		client.TLS = TLSConfig{Enabled: true, CAFile: cfg.tlsCA}
	}
	if len(cfg.users) > 0 {
		kopts = append(kopts, kfake.EnableSASL())
		for _, u := range cfg.users {
			if u.super {
				kopts = append(kopts, kfake.Superuser(u.mech, u.user, u.pass))
				if client.SASL.Mechanism == "" {
					client.SASL = SASLConfig{Mechanism: u.mech, User: u.user, Password: u.pass}
				}
			} else {
				kopts = append(kopts, kfake.User(u.mech, u.user, u.pass, u.acls...))
			}
		}
	}
	if cfg.acls {
		kopts = append(kopts, kfake.EnableACLs())
	}

	c, err := kfake.NewCluster(kopts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: start broker on %s: %w", cfg.addr, err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != 1 {
		c.Close()
		return nil, fmt.Errorf("kafka: start broker: listening on %v, want one address", addrs)
	}
	client.Brokers = addrs
	b := &Broker{c: c, addr: addrs[0], client: client, log: log}

	if len(cfg.topics) > 0 {
		if err := b.ensure(ctx, cfg.topics, cfg.keepConfigs); err != nil {
			c.Close()
			return nil, err
		}
	}
	log.Info("embedded kafka broker listening", "addr", b.addr, "data_dir", cfg.dataDir,
		"sync_writes", cfg.syncWrites, "partitions", cfg.partitions, "topics", len(cfg.topics))
	return b, nil
}

// ensure creates the topics through the broker's own address and brings
// the existing ones' configs to their specs (logging each change), unless
// WithKeepTopicConfigs.
func (b *Broker) ensure(ctx context.Context, specs []TopicSpec, keepConfigs bool) error {
	adm, err := NewAdmin(b.client)
	if err != nil {
		return err
	}
	defer adm.Close()
	var changes []ConfigChange
	if keepConfigs {
		err = EnsureTopicsExist(ctx, adm, specs...)
	} else {
		changes, err = EnsureTopicsChanges(ctx, adm, specs...)
	}
	for _, c := range changes {
		if c.Err != nil {
			b.log.Warn("topic config differs from its spec and could not be changed", "topic", c.Topic, "key", c.Key,
				"from", c.From, "to", c.To, "err", c.Err)
			continue
		}
		b.log.Info("topic config changed to its spec", "topic", c.Topic, "key", c.Key, "from", c.From, "to", c.To)
	}
	if err != nil {
		return fmt.Errorf("kafka: broker topics: %w", err)
	}
	return nil
}

// Addr returns the host:port clients connect to: the bound address (with
// the real port when the configured one was 0), or the advertised host
// with the bound port.
func (b *Broker) Addr() string { return b.addr }

// ClientConfig returns a configuration reaching this broker, authenticated
// as its first superuser when SASL is on.
func (b *Broker) ClientConfig() ClientConfig {
	c := b.client
	c.Brokers = []string{b.addr}
	c.ClientID = ""
	return c
}

// ApplyRetention enforces every topic's retention now, instead of waiting
// for the next periodic check.
func (b *Broker) ApplyRetention() { b.c.ApplyRetention() }

// Close stops the broker: it stops listening, drains pending offset
// commits, writes its state to the data directory and closes its files.
// Calling it again does nothing.
func (b *Broker) Close() {
	b.c.Close()
	b.log.Info("embedded kafka broker stopped", "addr", b.addr)
}

// advertisedListener reports the advertised host with the bound port as
// its address; kfake puts a listener's address in metadata responses.
type advertisedListener struct {
	net.Listener
	host string
}

// Addr is the advertised host with the bound port.
func (l advertisedListener) Addr() net.Addr {
	a := l.Listener.Addr()
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a
	}
	return advertisedAddr(net.JoinHostPort(l.host, port))
}

type advertisedAddr string

// Network is always "tcp".
func (a advertisedAddr) Network() string { return "tcp" }

// String is the host:port.
func (a advertisedAddr) String() string { return string(a) }
