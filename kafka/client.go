package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// SASL mechanisms ClientConfig accepts.
const (
	SASLPlain       = "PLAIN"
	SASLScramSHA256 = "SCRAM-SHA-256"
	SASLScramSHA512 = "SCRAM-SHA-512"
)

// DefaultClientID is the client.id Causeway clients send unless configured.
const DefaultClientID = "causeway"

// DefaultLinger is how long the producer waits to fill a batch per
// partition. A few milliseconds let the outbox relay and consumers batch
// under load at a negligible cost in latency.
const DefaultLinger = 10 * time.Millisecond

// ClientConfig says how to reach a Kafka cluster. The zero value plus
// Brokers is a plaintext, unauthenticated client.
type ClientConfig struct {
	// Brokers are the seed brokers, as host:port.
	Brokers []string
	// SASL authenticates the client; empty Mechanism disables it.
	SASL SASLConfig
	// TLS encrypts the connections.
	TLS TLSConfig
	// ClientID is sent as client.id; empty means DefaultClientID.
	ClientID string
	// Logger receives franz-go's logs at the levels it has enabled; nil
	// discards them.
	Logger *slog.Logger
}

// SASLConfig is the SASL part of ClientConfig.
type SASLConfig struct {
	// Mechanism is SASLPlain, SASLScramSHA256, SASLScramSHA512 or empty
	// (no SASL).
	Mechanism string
	// User is the SASL user name.
	User string
	// Password is the SASL password.
	Password string
}

// TLSConfig is the TLS part of ClientConfig.
type TLSConfig struct {
	// Enabled turns TLS on; the other fields need it.
	Enabled bool
	// CAFile is a PEM file of CAs to trust instead of the system's.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// mutual TLS; give both or neither.
	CertFile string
	// KeyFile is the key of CertFile.
	KeyFile string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
}

// Validate reports every problem of the configuration, joined. It does not
// read files; Opts does.
func (c ClientConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: none given"))
	}
	for _, b := range c.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("broker %q: want host:port: %w", b, err))
			continue
		}
		if host == "" {
			errs = append(errs, fmt.Errorf("broker %q: empty host", b))
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			errs = append(errs, fmt.Errorf("broker %q: port %q is not in 1-65535", b, port))
		}
	}
	switch c.SASL.Mechanism {
	case "":
		if c.SASL.User != "" || c.SASL.Password != "" {
			errs = append(errs, errors.New("sasl: user or password given without a mechanism"))
		}
	case SASLPlain, SASLScramSHA256, SASLScramSHA512:
		if c.SASL.User == "" {
			errs = append(errs, fmt.Errorf("sasl %s: user is empty", c.SASL.Mechanism))
		}
		if c.SASL.Password == "" {
			errs = append(errs, fmt.Errorf("sasl %s: password is empty", c.SASL.Mechanism))
		}
	default:
		errs = append(errs, fmt.Errorf("sasl: mechanism %q, want %s, %s or %s",
			c.SASL.Mechanism, SASLPlain, SASLScramSHA256, SASLScramSHA512))
	}
	t := c.TLS
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.InsecureSkipVerify) {
		errs = append(errs, errors.New("tls: options given but tls is not enabled"))
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert file and key file must be given together"))
	}
	return errors.Join(errs...)
}

// Opts validates the configuration and turns it into franz-go options,
// including Causeway's producer defaults:
//
//   - acks=all and idempotent writes, so a retried batch is not duplicated
//     while the broker stays up and per-partition order holds;
//   - kgo.StickyKeyPartitioner(nil): keyed records go to murmur2(key) %
//     partitions, as in the Java client (librdkafka needs
//     partitioner=murmur2_random for the same mapping);
//   - DefaultLinger, and kgo's defaults for batch size (1 MB) and
//     compression (snappy when the broker supports it).
//
// It reads the TLS files.
func (c ClientConfig) Opts() ([]kgo.Opt, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: client config: %w", err)
	}
	id := c.ClientID
	if id == "" {
		id = DefaultClientID
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(id),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerLinger(DefaultLinger),
	}
	if c.Logger != nil {
		opts = append(opts, kgo.WithLogger(newKgoLogger(c.Logger)))
	}
	switch c.SASL.Mechanism {
	case SASLPlain:
		opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsMechanism()))
	case SASLScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha256Mechanism()))
	case SASLScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.User, Pass: c.SASL.Password}.AsSha512Mechanism()))
	}
	if c.TLS.Enabled {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	return opts, nil
}

// config builds the tls.Config, reading the files.
func (t TLSConfig) config() (*tls.Config, error) {
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: t.InsecureSkipVerify, //nolint:gosec // opt-in, documented as for tests
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls ca file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls ca file %q: no PEM certificate found", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// NewClient returns a kgo client for cfg; extra options are applied after
// cfg's and win over them (add kgo.ConsumerGroup, kgo.ConsumeTopics and
// the like here). The caller closes the client.
func NewClient(cfg ClientConfig, extra ...kgo.Opt) (*kgo.Client, error) {
	opts, err := cfg.Opts()
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: new client: %w", err)
	}
	return cl, nil
}

// NewAdmin returns a kadm client over a new kgo client for cfg. Closing the
// admin client closes the kgo client.
func NewAdmin(cfg ClientConfig, extra ...kgo.Opt) (*kadm.Client, error) {
	cl, err := NewClient(cfg, extra...)
	if err != nil {
		return nil, err
	}
	return kadm.NewClient(cl), nil
}
