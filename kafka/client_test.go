package kafka_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/causeway-dev/causeway/kafka"
)

func TestClientConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     kafka.ClientConfig
		wantErr []string // substrings; nil means valid
	}{
		{"plaintext", kafka.ClientConfig{Brokers: []string{"127.0.0.1:9092", "kafka-2:9093"}}, nil},
		{"plain sasl", kafka.ClientConfig{Brokers: []string{"k:9092"}, SASL: kafka.SASLConfig{Mechanism: kafka.SASLPlain, User: "u", Password: "p"}}, nil},
		{"scram 256", kafka.ClientConfig{Brokers: []string{"k:9092"}, SASL: kafka.SASLConfig{Mechanism: kafka.SASLScramSHA256, User: "u", Password: "p"}}, nil},
		{"scram 512 with mtls", kafka.ClientConfig{Brokers: []string{"k:9092"},
			SASL: kafka.SASLConfig{Mechanism: kafka.SASLScramSHA512, User: "u", Password: "p"},
			TLS:  kafka.TLSConfig{Enabled: true, CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem"}}, nil},
		{"no brokers", kafka.ClientConfig{}, []string{"brokers: none given"}},
		{"broker without port", kafka.ClientConfig{Brokers: []string{"kafka"}}, []string{`broker "kafka": want host:port`}},
		{"bad port", kafka.ClientConfig{Brokers: []string{"k:0", "k:x"}}, []string{`port "0"`, `port "x"`}},
		{"empty host", kafka.ClientConfig{Brokers: []string{":9092"}}, []string{"empty host"}},
		{"unknown mechanism", kafka.ClientConfig{Brokers: []string{"k:1"}, SASL: kafka.SASLConfig{Mechanism: "GSSAPI", User: "u", Password: "p"}}, []string{`mechanism "GSSAPI"`}},
		{"mechanism without credentials", kafka.ClientConfig{Brokers: []string{"k:1"}, SASL: kafka.SASLConfig{Mechanism: kafka.SASLPlain}}, []string{"user is empty", "password is empty"}},
		{"credentials without mechanism", kafka.ClientConfig{Brokers: []string{"k:1"}, SASL: kafka.SASLConfig{User: "u"}}, []string{"without a mechanism"}},
		{"tls options while disabled", kafka.ClientConfig{Brokers: []string{"k:1"}, TLS: kafka.TLSConfig{CAFile: "ca.pem"}}, []string{"tls is not enabled"}},
		{"cert without key", kafka.ClientConfig{Brokers: []string{"k:1"}, TLS: kafka.TLSConfig{Enabled: true, CertFile: "c.pem"}}, []string{"given together"}},
		{"everything wrong at once", kafka.ClientConfig{SASL: kafka.SASLConfig{Mechanism: "X"}, TLS: kafka.TLSConfig{KeyFile: "k"}},
			[]string{"brokers: none given", `mechanism "X"`, "tls is not enabled", "given together"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors containing %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Validate() = %q, missing %q", err, s)
				}
			}
		})
	}
}

func TestClientConfigOptsReadsTLSFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		tls     kafka.TLSConfig
		wantErr string
	}{
		{"insecure only", kafka.TLSConfig{Enabled: true, InsecureSkipVerify: true}, ""},
		{"missing ca file", kafka.TLSConfig{Enabled: true, CAFile: filepath.Join(dir, "missing.pem")}, "tls ca file"},
		{"ca file without pem", kafka.TLSConfig{Enabled: true, CAFile: notPEM}, "no PEM certificate"},
		{"missing cert", kafka.TLSConfig{Enabled: true, CertFile: filepath.Join(dir, "c.pem"), KeyFile: filepath.Join(dir, "k.pem")}, "tls client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := kafka.ClientConfig{Brokers: []string{"127.0.0.1:1"}, TLS: tt.tls}.Opts()
			if tt.wantErr == "" {
				if err != nil || len(opts) == 0 {
					t.Fatalf("Opts() = %d opts, %v; want options and no error", len(opts), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Opts() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	if _, err := (kafka.ClientConfig{}).Opts(); err == nil {
		t.Error("Opts() on an invalid config succeeded")
	}
}
