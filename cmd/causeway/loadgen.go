package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/causeway-dev/causeway/internal/loadgen"
	"github.com/causeway-dev/causeway/kafka"
)

// DefaultOrdersFile is the orders file loadgen writes in the data dir.
const DefaultOrdersFile = "loadgen-orders.jsonl"

// newLoadgenCmd drives the order API and reports throughput and latency.
func newLoadgenCmd() *cobra.Command {
	var (
		cfg       = loadgen.Config{Concurrency: loadgen.DefaultConcurrency, Drain: loadgen.DefaultDrain, ReadSample: loadgen.DefaultReadSample, MaxInFlight: loadgen.DefaultMaxInFlight, Users: loadgen.DefaultUsers, RequestTimeout: 30 * time.Second}
		mix       = loadgen.DefaultMix
		dataDir   = "./data"
		output    = "text"
		ordersOut string
		noObserve bool
		progress  = "auto"
	)
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Place orders at a fixed rate (or at max) and report throughput and latency",
		Long: `Place orders on the HTTP API with a mix of saga paths and report what happened.

--rate N sends N orders/s open loop: every send has a fixed scheduled time and
goes out whatever the earlier answers, and every latency is measured from the
scheduled time (no coordinated omission). --max runs closed loop instead:
--concurrency clients send back to back. Sending stops after --duration; then
loadgen waits (at most --drain) for the accepted orders to be terminal.

Paths of --mix (weights, dealt in a fixed interleaving):
  ok        card_ok, p-1 … p-20       → shipped
  declined  card_declined             → cancelled (payment_failed)
  soldout   p-sold-out                → cancelled (out_of_stock)
  xx        shipping country XX       → cancelled (shipping_failed)
  flaky     card_flaky                → shipped (after two payment retries)
Currencies rotate over USD, EUR, GBP; userIds over --users.

Latencies (p50/p95/p99/max):
  place → 202        the POST's answer;
  place → terminal   arrival of the order's order.shipped / order.cancelled
                     on the orders topic, read without a consumer group from
                     the end offsets taken at start (needs --brokers);
  place → read model GET /v1/orders/{id} first shows the terminal status,
                     polled every 5 ms (later every 1/20 of the time
                     since the order was placed) for --read-sample
                     orders. The read model of an order is its event
                     stream today, so this is the terminal latency plus
                     the poll.

The target and brokers default to the addresses a running causeway up wrote
to DATA-DIR/causeway.json, else http://127.0.0.1:8080 and 127.0.0.1:9092.
Accepted orders are written, one JSON line each with their path and expected
outcome, to --orders-out (default DATA-DIR/` + DefaultOrdersFile + `) for
causeway check. A progress line goes to stderr (redrawn on a terminal).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("loadgen: --output %q, want text or json", output)
			}
			f := cmd.Flags()
			rt, _ := readRuntime(dataDir)
			if !f.Changed("target") && cfg.Target == "" {
				cfg.Target = "http://127.0.0.1:8080"
				if rt != nil && rt.HTTPAddr != "" {
					cfg.Target = "http://" + rt.HTTPAddr
				}
			}
			cfg.Target = strings.TrimRight(cfg.Target, "/")
			if noObserve {
				cfg.Kafka.Brokers = nil
			} else if len(cfg.Kafka.Brokers) == 0 {
				cfg.Kafka.Brokers = []string{kafka.DefaultBrokerAddr}
				if rt != nil && rt.KafkaAddr != "" {
					cfg.Kafka.Brokers = []string{rt.KafkaAddr}
				}
			}
			cfg.Kafka.ClientID = "causeway-loadgen"
			var err error
			if cfg.Mix, err = loadgen.ParseMix(mix); err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			if !cfg.Max && !f.Changed("rate") {
				return fmt.Errorf("loadgen: give --rate N or --max")
			}
			if cfg.Max && f.Changed("rate") {
				return fmt.Errorf("loadgen: --rate and --max exclude each other")
			}
			switch progress {
			case "auto":
				cfg.Progress, cfg.TTY = cmd.ErrOrStderr(), isTerminal(cmd.ErrOrStderr())
			case "plain":
				cfg.Progress = cmd.ErrOrStderr()
			case "none":
			default:
				return fmt.Errorf("loadgen: --progress %q, want auto, plain or none", progress)
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			if ordersOut == "" {
				ordersOut = filepath.Join(dataDir, DefaultOrdersFile)
			}
			rep, orders, err := loadgen.Run(cmd.Context(), cfg)
			if err != nil {
				return fmt.Errorf("loadgen: %w", err)
			}
			if ordersOut != "-" {
				if err := loadgen.WriteOrdersFile(ordersOut, orders); err != nil {
					return fmt.Errorf("loadgen: orders file: %w", err)
				}
				rep.OrdersFile = ordersOut
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := rep.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if rep.Accepted == 0 {
				return fmt.Errorf("loadgen: no order was accepted")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Target, "target", "", "base URL of the API (default: DATA-DIR/causeway.json, else http://127.0.0.1:8080)")
	f.Float64Var(&cfg.Rate, "rate", 0, "open loop: orders per second")
	f.BoolVar(&cfg.Max, "max", false, "closed loop: --concurrency clients send back to back")
	f.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "clients of --max")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long orders are sent")
	f.StringVar(&mix, "mix", mix, "weights of the paths ok, declined, soldout, xx, flaky")
	f.StringVar(&cfg.AuthToken, "auth-token", "", "API bearer token (prefer CAUSEWAY_AUTH_TOKEN)")
	f.StringSliceVar(&cfg.Kafka.Brokers, "brokers", nil, "Kafka brokers to observe terminal events on (default: DATA-DIR/causeway.json, else 127.0.0.1:9092)")
	f.BoolVar(&noObserve, "no-observe", false, "do not observe terminal events (no Kafka access)")
	f.DurationVar(&cfg.Drain, "drain", cfg.Drain, "after sending, wait at most this long for accepted orders to be terminal")
	f.IntVar(&cfg.ReadSample, "read-sample", cfg.ReadSample, "orders polled on GET /v1/orders/{id} for the place → read model latency")
	f.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "open loop: cap of requests in flight (later sends wait; latency still from their scheduled time)")
	f.IntVar(&cfg.Users, "users", cfg.Users, "distinct userIds (the orders topic's key)")
	f.StringVar(&dataDir, "data-dir", dataDir, "data directory of causeway up: its causeway.json, and where the orders file goes")
	f.StringVar(&ordersOut, "orders-out", "", "file of the accepted orders, JSON lines (default DATA-DIR/"+DefaultOrdersFile+"; - for none)")
	f.StringVarP(&output, "output", "o", output, "report format: text or json")
	f.StringVar(&progress, "progress", progress, "progress on stderr: auto (a bar on a terminal, lines otherwise), plain or none")
	return cmd
}

// readRuntime reads DATA-DIR/causeway.json of a running causeway up.
func readRuntime(dataDir string) (*Runtime, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, RuntimeFile))
	if err != nil {
		return nil, err
	}
	var rt Runtime
	if err := json.Unmarshal(b, &rt); err != nil {
		return nil, err
	}
	return &rt, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
