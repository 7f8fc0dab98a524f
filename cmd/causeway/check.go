package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/check"
	"github.com/causeway-dev/causeway/internal/loadgen"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// errCheckFailed is returned when an invariant does not hold (the
// checklist says which).
var errCheckFailed = errors.New("check: invariants violated")

// newCheckCmd verifies the platform's invariants after a run.
func newCheckCmd() *cobra.Command {
	var (
		dataDir, ordersFile, pgURL, catalogFile, output string
		brokers                                         []string
		expectDLQ                                       int
		wait, timeout                                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the invariants of a finished run (orders terminal, stock and money conserved, …)",
		Long: `Check, from the services' databases, the invariants that must hold once every
order of a run is finished, and print a checklist with PASS, FAIL or SKIP per
invariant and the details of each failure:

  orders-terminal      every accepted order (the --orders file written by
                       causeway loadgen) exists and is shipped or cancelled,
                       with its path's expected outcome; without an orders
                       file, every order in the event store is terminal
  versions-contiguous  each order stream's versions are 1, 2, … n
  transitions-legal    placed → paid → reserved → shipped, cancelled from any
                       non-terminal status, nothing after a terminal event
  stock-conserved      per catalog product: initial = the catalog's stock,
                       available + reserved = initial, reserved = what the
                       reservations hold = what the shipped orders consumed
  money-conserved      per currency: captured − refunded = the totals of the
                       shipped orders
  effects-once         per order: one capture of its total and no refund when
                       shipped; captures refunded in full when cancelled; a
                       shipment and a held reservation exactly when shipped;
                       no ledger, shipping or inventory row without an order
  projections-rebuild  every table of the read service's projections equals
                       a rebuild from the start of the topics, row for row
                       (with --brokers; SKIP otherwise)
  outbox-drained       every service database's outbox is empty
  dlq-expected         the dead-letter topics hold --expect-dlq letters
                       (read only with --brokers; SKIP otherwise)

The databases are DATA-DIR/<service>.db (causeway up), or with --postgres the
schemas <service>_service (causeway serve). Run it after the run finished (or
with --wait while the last orders settle); it exits non-zero if any invariant
fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "text" && output != "json" {
				return fmt.Errorf("check: --output %q, want text or json", output)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout+wait)
			defer cancel()
			cat := catalog.Default()
			if catalogFile != "" {
				var err error
				if cat, err = catalog.LoadFile(catalogFile); err != nil {
					return fmt.Errorf("check: %w", err)
				}
			}
			cfg := check.Config{Catalog: cat, ExpectDLQ: expectDLQ}
			if ordersFile == "" && pgURL == "" {
				if p := filepath.Join(dataDir, DefaultOrdersFile); fileExists(p) {
					ordersFile = p
				}
			}
			if ordersFile != "" {
				orders, err := loadgen.ReadOrdersFile(ordersFile)
				if err != nil {
					return fmt.Errorf("check: --orders: %w", err)
				}
				cfg.Orders = append([]loadgen.OrderRecord{}, orders...)
			}
			dbs, closeDBs, err := openCheckDBs(ctx, dataDir, pgURL)
			if err != nil {
				return fmt.Errorf("check: %w", err)
			}
			defer closeDBs()
			if len(brokers) > 0 {
				in, err := dlq.New(kafka.ClientConfig{Brokers: brokers, ClientID: "causeway-check"})
				if err != nil {
					return fmt.Errorf("check: %w", err)
				}
				defer in.Close()
				cfg.DLQ = func(ctx context.Context) (int, []string, error) {
					ls, err := in.List(ctx, dlq.Filter{})
					var out []string
					for _, l := range ls {
						out = append(out, fmt.Sprintf("%s key %s: %s (%s)", l.ID, l.Key, l.Error, l.Status))
					}
					return len(ls), out, err
				}
			}
			var rep *check.Report
			deadline := time.Now().Add(wait)
			for {
				if rep, err = check.Run(ctx, dbs, cfg); err != nil {
					return err
				}
				if rep.OK || !time.Now().Before(deadline) {
					break
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("check: %w", ctx.Err())
				case <-time.After(250 * time.Millisecond):
				}
			}
			// Projections equal a rebuild: once, after the others settled
			// (a rebuild from the topics is too costly to repeat per poll).
			switch {
			case len(brokers) == 0:
				rep.Add(check.SkipProjections("needs --brokers (the rebuild reads the topics)"))
			case dbs.Read == nil:
				rep.Add(check.SkipProjections("no read service database"))
			default:
				r, err := checkProjections(ctx, dbs, brokers)
				if err != nil {
					// Asked for and not done (topics unreachable, …): a failure.
					r = check.Result{Name: check.ProjectionsRebuild, Status: check.Fail,
						Summary: "could not compare the read model with a rebuild", Failures: 1, Details: []string{err.Error()}}
				}
				rep.Add(r)
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
			if !rep.OK {
				return errCheckFailed
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "./data", "data directory of causeway up (DATA-DIR/<service>.db)")
	f.StringVar(&ordersFile, "orders", "", "orders file of causeway loadgen (default DATA-DIR/"+DefaultOrdersFile+" if present)")
	f.StringVar(&pgURL, "postgres", "", "PostgreSQL URL of causeway serve (schemas <service>_service) instead of --data-dir")
	f.StringVar(&catalogFile, "catalog", "", "catalog JSON the platform ran with (default: the built-in catalog)")
	f.StringSliceVar(&brokers, "brokers", nil, "Kafka brokers: also check the dead-letter topics")
	f.IntVar(&expectDLQ, "expect-dlq", 0, "number of dead letters the run injected")
	f.DurationVar(&wait, "wait", 0, "re-check until every invariant holds or this long has passed (orders still settling)")
	f.DurationVar(&timeout, "timeout", time.Minute, "give up reading after this long")
	f.StringVarP(&output, "output", "o", "text", "output format: text or json")
	return cmd
}

// openCheckDBs opens the services' databases for reading: the SQLite
// files of dataDir (which must exist), or the schemas of pgURL.
func openCheckDBs(ctx context.Context, dataDir, pgURL string) (check.DBs, func(), error) {
	var opened []*sqldb.DB
	closeAll := func() {
		for _, db := range opened {
			_ = db.Close()
		}
	}
	open := func(name string) (*sqldb.DB, error) {
		if pgURL != "" {
			return openPostgres(ctx, pgURL, SchemaOf(name), 4)
		}
		p := filepath.Join(dataDir, name+".db")
		if !fileExists(p) {
			return nil, fmt.Errorf("%s: no such database", p)
		}
		return sqlite.Open(ctx, p, sqlite.ReadConns(2))
	}
	dbs := check.DBs{Outboxes: map[string]*sqldb.DB{}}
	if pgURL != "" || fileExists(filepath.Join(dataDir, readServiceName+".db")) {
		db, err := open(readServiceName)
		if err != nil {
			return dbs, nil, err
		}
		opened = append(opened, db)
		dbs.Read = db
	}
	for _, name := range serviceNames {
		db, err := open(name)
		if err != nil {
			if name == "email" || name == "analytics" {
				continue // publish nothing; may not run
			}
			closeAll()
			return dbs, nil, err
		}
		opened = append(opened, db)
		dbs.Outboxes[name] = db
		switch name {
		case "order":
			dbs.Order = db
		case "payment":
			dbs.Payment = db
		case "inventory":
			dbs.Inventory = db
		case "shipping":
			dbs.Shipping = db
		}
	}
	return dbs, closeAll, nil
}

// checkProjections compares the read model with a rebuild from the topics
// of brokers, in a scratch directory removed afterwards.
func checkProjections(ctx context.Context, dbs check.DBs, brokers []string) (check.Result, error) {
	kopts, err := kafka.ClientConfig{Brokers: brokers, ClientID: "causeway-check"}.Opts()
	if err != nil {
		return check.Result{}, fmt.Errorf("check: %w", err)
	}
	codec, err := schema.NewCodec()
	if err != nil {
		return check.Result{}, err
	}
	scratch, err := os.MkdirTemp("", "causeway-check-*")
	if err != nil {
		return check.Result{}, fmt.Errorf("check: %w", err)
	}
	defer os.RemoveAll(scratch)
	return check.CheckProjections(ctx, dbs.Read, codec, kopts, scratch)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
