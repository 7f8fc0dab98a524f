package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/trace"
)

// newTraceCmd prints the causation tree of one flow.
func newTraceCmd() *cobra.Command {
	var (
		cfg       kafka.ClientConfig
		dataDir   string
		output    string
		timeout   time.Duration
		maxEvents int
	)
	cmd := &cobra.Command{
		Use:   "trace CORRELATION_ID",
		Short: "Show the causation tree of one flow: every event, its service, its time and its latency from its cause",
		Long: `Show the causation tree of one flow (an order's correlationId, as POST
/v1/orders answers it), built from the events themselves: every record of the
event topics (orders, payments, inventory, shipping) and of the orchestrator's
command and reply topics whose ce_correlationid header is the id, read from
each partition's start offset to its end offset at the time of the call, and,
with --data-dir, the order service's event store (DATA-DIR/order.db, opened
read-only, if present), deduplicated by event id.

Each event hangs under its cause (metadata.causationId), with its service and
its latency from the cause ("+8ms"; a negative one is marked [clock skew]).
Roots show their time (UTC); a root whose cause was not found (expired from
the topics, or never published) is marked [orphan]. At most --max-events
events are shown; a longer flow is reported as truncated. --output json
prints the same as GET /v1/trace/{correlationId}.

The exit status is non-zero for an invalid id and when no event is found.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if err := trace.ValidateID(id); err != nil {
				return fmt.Errorf("trace: %w", err)
			}
			if output != "tree" && output != "json" {
				return fmt.Errorf("trace: --output %q, want tree or json", output)
			}
			if timeout <= 0 {
				return errors.New("trace: --timeout must be positive")
			}
			if cfg.ClientID == "" {
				cfg.ClientID = "causeway-trace"
			}
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("trace: %w", err)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			opts := []trace.Option{trace.WithMaxEvents(maxEvents)}
			if dataDir != "" {
				store, closeStore, err := openTraceStore(filepath.Join(dataDir, "order.db"))
				if err != nil {
					return fmt.Errorf("trace: %w", err)
				}
				defer closeStore()
				if store != nil {
					opts = append(opts, trace.WithStore(store))
				}
			}
			f, err := trace.New(cfg, opts...).Trace(ctx, id)
			if errors.Is(err, trace.ErrNotFound) {
				return fmt.Errorf("trace: no events with correlation id %q (scanned the topics of %v)", id, cfg.Brokers)
			}
			if err != nil {
				return fmt.Errorf("trace: %w", err)
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(f)
			}
			return trace.WriteTree(cmd.OutOrStdout(), f)
		},
	}
	f := cmd.Flags()
	addKafkaClientFlags(f, &cfg)
	f.StringVar(&dataDir, "data-dir", "", "data directory of causeway up: also read DATA-DIR/order.db's event store, if present")
	f.StringVarP(&output, "output", "o", "tree", "output format: tree or json")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "give up after this long")
	f.IntVar(&maxEvents, "max-events", trace.DefaultMaxEvents, "show at most this many events of the flow")
	return cmd
}

// openTraceStore opens the event store of the SQLite file at path
// read-only; nil (and no error) when the file does not exist.
func openTraceStore(path string) (eventstore.CorrelationReader, func(), error) {
	st, closeFn, err := openStoreRO(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, func() {}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return st, closeFn, nil
}

// openStoreRO opens the event store of the SQLite file at path read-only
// (an error wrapping os.ErrNotExist when there is no such file).
func openStoreRO(path string) (*sqlstore.Store, func(), error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, nil, fmt.Errorf("event store %s: %w", path, err)
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String())
	if err != nil {
		return nil, nil, fmt.Errorf("event store %s: %w", path, err)
	}
	return sqlstore.New(sqldb.New(db, db, sqldb.SQLite)), func() { _ = db.Close() }, nil
}

// traceOption serves GET /v1/trace/{correlationId} over the platform's
// cluster and, when this process runs the order service, its event store.
func (p *platform) traceOption() httpapi.Option {
	c := p.kcfg
	c.ClientID = "causeway-trace"
	opts := []trace.Option{}
	if p.orders != nil {
		if cr, ok := p.orders.Store().(eventstore.CorrelationReader); ok {
			opts = append(opts, trace.WithStore(cr))
		}
	}
	return httpapi.WithTrace(trace.New(c, opts...))
}
