package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/causeway-dev/causeway/kafka"
	"github.com/spf13/cobra"
)

// newBrokerCmd runs only the embedded broker, standalone, so that several
// causeway processes on one machine (or kcat) can share it.
func newBrokerCmd() *cobra.Command {
	var (
		dataDir    string
		addr       string
		advertised string
		partitions int32
		syncWrites bool
		tlsCert    string
		tlsKey     string
		tlsCA      string
	)
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker standalone",
		Long: `Run only the embedded Kafka-protocol broker (franz-go's kfake), persisted
under DATA-DIR/broker, until interrupted (Ctrl-C). It creates Causeway's topics
(orders, payments, inventory, shipping, commands.payment, commands.inventory,
commands.shipping, saga.replies) if they are missing, with the default
retention; it leaves existing topics' configs alone: causeway serve
(--topic-config) brings them to what it is configured with.

It is a single node with no replication: the data directory is the only copy.
Without --sync-writes a killed process loses nothing acknowledged but a power
loss can lose the last writes; with it every batch is fsynced before it is
acknowledged. Retained records are kept in memory; each topic's retention is
bounded by bytes and time.

Any Kafka client can connect, e.g. kcat -b 127.0.0.1:9092 -L. Non-Go producers
must partition keys with murmur2 like the Java client (kcat/librdkafka:
-X partitioner=murmur2_random), or keys land on other partitions.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			dir := filepath.Join(dataDir, "broker")
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return fmt.Errorf("broker: data dir: %w", err)
			}
			opts := []kafka.BrokerOpt{
				kafka.WithAddr(addr),
				kafka.WithDataDir(dir),
				kafka.WithPartitions(partitions),
				kafka.WithLogger(log),
				// The serve processes own the topics' configs (--topic-config).
				kafka.WithKeepTopicConfigs(),
			}
			if advertised != "" {
				opts = append(opts, kafka.WithAdvertisedHost(advertised))
			}
			if syncWrites {
				opts = append(opts, kafka.WithSyncWrites())
			}
			if tlsCert != "" || tlsKey != "" {
				opts = append(opts, kafka.WithTLS(tlsCert, tlsKey, tlsCA))
			}
			b, err := kafka.StartBroker(ctx, opts...)
			if err != nil {
				return fmt.Errorf("broker: %w", err)
			}
			<-ctx.Done()
			log.Info("shutting down embedded kafka broker")
			b.Close()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "./data", "data directory; the broker keeps its log under DIR/broker")
	f.StringVar(&addr, "kafka-addr", kafka.DefaultBrokerAddr, "host:port to listen on (port 0 picks a free port)")
	f.StringVar(&advertised, "kafka-advertised-host", "",
		"host clients are told to connect to; required when --kafka-addr listens on every interface (0.0.0.0:9092)")
	f.Int32Var(&partitions, "partitions", kafka.DefaultPartitions,
		"partitions of each Causeway topic when created; an existing topic with another count is an error")
	f.BoolVar(&syncWrites, "sync-writes", false, "fsync every produced batch before acknowledging it (survives power loss; slower)")
	f.StringVar(&tlsCert, "listener-tls-cert", "", "PEM certificate: the broker accepts only TLS connections (needs --listener-tls-key; clients use --tls --tls-ca-file)")
	f.StringVar(&tlsKey, "listener-tls-key", "", "PEM key of --listener-tls-cert")
	f.StringVar(&tlsCA, "listener-tls-ca", "", "PEM CA that signed --listener-tls-cert, trusted by the broker's own client that creates the topics (default: the system's roots)")
	return cmd
}
