package main

import (
	"github.com/spf13/pflag"

	"github.com/causeway-dev/causeway/kafka"
)

// addKafkaClientFlags registers the flags of the commands that reach a
// Kafka cluster as a client (status, topics, trace, dlq): --brokers
// (default the embedded broker's address), --sasl-* and --tls-*.
func addKafkaClientFlags(f *pflag.FlagSet, cfg *kafka.ClientConfig) {
	f.StringSliceVar(&cfg.Brokers, "brokers", []string{kafka.DefaultBrokerAddr}, "Kafka seed brokers, host:port, comma-separated")
	f.StringVar(&cfg.SASL.Mechanism, "sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (empty: none)")
	f.StringVar(&cfg.SASL.User, "sasl-user", "", "SASL user")
	f.StringVar(&cfg.SASL.Password, "sasl-password", "", "SASL password (prefer CAUSEWAY_SASL_PASSWORD)")
	f.BoolVar(&cfg.TLS.Enabled, "tls", false, "connect with TLS")
	f.StringVar(&cfg.TLS.CAFile, "tls-ca-file", "", "PEM file of CAs to trust instead of the system's")
	f.StringVar(&cfg.TLS.CertFile, "tls-cert-file", "", "PEM client certificate (mutual TLS)")
	f.StringVar(&cfg.TLS.KeyFile, "tls-key-file", "", "PEM key of --tls-cert-file")
}
