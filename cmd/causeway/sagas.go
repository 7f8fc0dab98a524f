package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/causeway-dev/causeway/internal/catalog"
	"github.com/causeway-dev/causeway/internal/httpapi"
	"github.com/causeway-dev/causeway/internal/ordersaga"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/saga"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// sagaStateLabel is the state label of causeway_saga_instances for a saga
// status: a failed saga is exported as "stuck", the operators' name (it
// waits for `causeway sagas retry|skip`); alert on state="stuck" > 0.
func sagaStateLabel(s saga.Status) string {
	if s == saga.StatusFailed {
		return saga.StatusStuck
	}
	return string(s)
}

// sagasOpts are the flags shared by the sagas subcommands.
type sagasOpts struct {
	dataDir     string
	orderDB     string
	stepTimeout time.Duration
	output      string
	timeout     time.Duration
}

func newSagasCmd() *cobra.Command {
	o := &sagasOpts{}
	cmd := &cobra.Command{
		Use:   "sagas",
		Short: "Inspect orchestrated sagas and resolve stuck ones (retry, skip, compensate)",
		Long: `Inspect the order sagas of --saga=orchestration in DATA-DIR/order.db (or
--order-db) and resolve stuck ones. A saga is stuck (status failed) when a
compensation failed or timed out too often, or at once when a participant
dead-lettered the command it waits for (an action or a compensation). The
actions write the next command to the order database's outbox; a running
causeway up (or the next start) publishes it. Discard (or replay, once
fixed) the command's dead letter first: it parks the order's key.

  retry       send the command the saga is stuck on again (a compensation,
              or a dead-lettered action: the saga then runs on)
  skip        give that compensation up (it was undone by hand) and go on;
              a dead-lettered action is abandoned and the steps before it
              compensated
  compensate  abort a running saga (or one stuck on an action): compensate
              its steps

Every action needs --reason; it is recorded in the saga's history with the
operator (the OS user).`,
		Args: cobra.NoArgs,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.dataDir, "data-dir", "./data", "data directory of causeway up (its order.db)")
	pf.StringVar(&o.orderDB, "order-db", "", "the order service's SQLite file (default DATA-DIR/order.db)")
	pf.DurationVar(&o.stepTimeout, "saga-step-timeout", ordersaga.DefaultStepTimeout, "step timeout of the commands an action sends (as causeway up's)")
	pf.StringVar(&o.output, "output", "text", "text or json")
	pf.DurationVar(&o.timeout, "timeout", 30*time.Second, "bound of the command")
	cmd.AddCommand(newSagasListCmd(o), newSagasShowCmd(o))
	for _, a := range []saga.Action{saga.ActionRetry, saga.ActionSkip, saga.ActionCompensate} {
		cmd.AddCommand(newSagasActionCmd(o, a))
	}
	return cmd
}

// sagaSession is an orchestrator over the order database.
type sagaSession struct {
	db   *sqldb.DB
	svc  *ordersvc.Service
	orch *saga.Orchestrator
}

func (s *sagaSession) Close() error {
	return errors.Join(s.svc.Close(), s.db.Close())
}

func (o *sagasOpts) open(ctx context.Context) (*sagaSession, error) {
	if o.output != "text" && o.output != "json" {
		return nil, fmt.Errorf("--output %q: want text or json", o.output)
	}
	path := o.orderDB
	if path == "" {
		path = filepath.Join(o.dataDir, "order.db")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("order database: %w", err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("order database: %w", err)
	}
	svc, err := ordersvc.New(db, catalog.Default())
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	orch, err := svc.Orchestrate(ordersaga.Config{StepTimeout: o.stepTimeout})
	if err != nil {
		_ = svc.Close()
		_ = db.Close()
		return nil, err
	}
	return &sagaSession{db: db, svc: svc, orch: orch}, nil
}

func newSagasListCmd(o *sagasOpts) *cobra.Command {
	var status, after string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List sagas, oldest first (--status stuck for the stuck ones)",
		Example: `  causeway sagas list --status stuck
  causeway sagas list --status running --limit 20 --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := saga.ParseStatus(status)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			s, err := o.open(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			sts, err := s.orch.List(ctx, saga.ListOptions{Status: st, After: after, Limit: limit})
			if err != nil {
				return err
			}
			views := make([]httpapi.SagaView, 0, len(sts))
			for _, st := range sts {
				views = append(views, httpapi.SagaViewOf(st))
			}
			if o.output == "json" {
				return writeJSON(cmd.OutOrStdout(), views)
			}
			return printSagas(cmd.OutOrStdout(), views)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "running, compensating, completed, compensated, failed or stuck (= failed); empty: all")
	cmd.Flags().StringVar(&after, "after", "", "list sagas created after this saga id (paging)")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many sagas (up to 1000)")
	return cmd
}

func printSagas(w io.Writer, views []httpapi.SagaView) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tSTEP\tATTEMPT\tUPDATED\tREASON")
	for _, v := range views {
		status := string(v.Status)
		if v.Stuck {
			status += " (stuck)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", v.ID, status, v.Step, v.Attempt, fmtTime(v.UpdatedAt), v.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d saga(s)\n", len(views))
	return err
}

func newSagasShowCmd(o *sagasOpts) *cobra.Command {
	return &cobra.Command{
		Use:   "show SAGA-ID",
		Short: "Show one saga with its step history",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			s, err := o.open(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.orch.Get(ctx, args[0])
			if err != nil {
				return err
			}
			v := httpapi.SagaViewOf(st)
			if o.output == "json" {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			return printSaga(cmd.OutOrStdout(), v)
		},
	}
}

func printSaga(w io.Writer, v httpapi.SagaView) error {
	stuck := ""
	if v.Stuck {
		stuck = " (stuck: causeway sagas retry|skip)"
	}
	fmt.Fprintf(w, "saga %s (%s) correlation %s\nstatus %s%s, step %d %s, attempt %d\nreason: %s\n\nhistory:\n",
		v.ID, v.Definition, v.CorrelationID, v.Status, stuck, v.Step, v.StepName, v.Attempt, v.Reason)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tSTEP\tPHASE\tEVENT\tREASON")
	for _, e := range v.History {
		fmt.Fprintf(tw, "%s\t%d %s\t%s\t%s\t%s\n", fmtTime(e.At), e.Step, e.StepName, e.Phase, e.Event, e.Reason)
	}
	return tw.Flush()
}

func newSagasActionCmd(o *sagasOpts, a saga.Action) *cobra.Command {
	var reason string
	short := map[saga.Action]string{
		saga.ActionRetry:      "Send the command a stuck saga is stuck on again (its compensation, or a dead-lettered action)",
		saga.ActionSkip:       "Give up the command a stuck saga is stuck on (a compensation undone by hand, or a dead-lettered action) and go on compensating",
		saga.ActionCompensate: "Abort a running saga, or one stuck on an action: compensate its steps",
	}[a]
	cmd := &cobra.Command{
		Use:     string(a) + " SAGA-ID --reason TEXT",
		Short:   short,
		Example: fmt.Sprintf("  causeway sagas %s ord-123 --reason \"payment provider fixed\"", a),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			s, err := o.open(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			st, err := s.orch.Operate(ctx, a, args[0], cliOperator(), reason)
			if err != nil {
				return err
			}
			v := httpapi.SagaViewOf(st)
			if o.output == "json" {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "saga %s: %s done; status %s, step %d %s\n", v.ID, a, v.Status, v.Step, v.StepName)
			return err
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (required; recorded in the saga's history)")
	return cmd
}

// cliOperator names the operator of a CLI action: the OS user.
func cliOperator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}
