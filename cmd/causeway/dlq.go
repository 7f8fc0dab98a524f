package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/causeway-dev/causeway/dlq"
	"github.com/causeway-dev/causeway/internal/inventory"
	"github.com/causeway-dev/causeway/internal/ordersvc"
	"github.com/causeway-dev/causeway/internal/payment"
	"github.com/causeway-dev/causeway/internal/shipping"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// dlqServiceFiles maps the consumer groups of causeway up to their
// databases, DATA-DIR/<name>.db, where their parked keys are.
var dlqServiceFiles = map[string]string{
	ordersvc.SagaGroup: "order",
	payment.Group:      "payment",
	inventory.Group:    "inventory",
	shipping.Group:     "shipping",
}

// dlqOpts are the flags every dlq subcommand shares.
type dlqOpts struct {
	cfg        kafka.ClientConfig
	output     string
	dataDir    string
	auditDB    string
	serviceDBs []string
	maxReplays int
	timeout    time.Duration
}

// filterFlags are the flags that build a dlq.Filter.
type filterFlags struct {
	group, topic, key, errText, since, until, kind, status, limit string
}

func (f *filterFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.group, "group", "", "consumer group (default: every group with a dlq.<group> topic)")
	fl.StringVar(&f.topic, "topic", "", "original topic of the dead-lettered record")
	fl.StringVar(&f.key, "key", "", "record key (exact)")
	fl.StringVar(&f.errText, "error", "", "error text contains this (any case)")
	fl.StringVar(&f.since, "since", "", "last failure at or after: RFC 3339 time or a duration ago (90m, 24h)")
	fl.StringVar(&f.until, "until", "", "last failure before: RFC 3339 time or a duration ago")
	fl.StringVar(&f.kind, "kind", "", "error kind: malformed, unknown-type, unknown-version, upcast, panic, permanent, error")
	fl.StringVar(&f.status, "status", "", "open, parked, replay-requested, discard-requested, replayed, discarded, resolved, or unresolved")
	fl.StringVar(&f.limit, "limit", "", "at most this many letters (oldest first)")
}

// values returns the given filter flags as query parameters.
func (f *filterFlags) values() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{
		dlq.ParamGroup: f.group, dlq.ParamTopic: f.topic, dlq.ParamKey: f.key, dlq.ParamError: f.errText,
		dlq.ParamSince: f.since, dlq.ParamUntil: f.until, dlq.ParamKind: f.kind,
		dlq.ParamStatus: f.status, dlq.ParamLimit: f.limit,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

func (f *filterFlags) filter() (dlq.Filter, error) {
	return dlq.ParseFilter(f.values(), time.Now())
}

// newDLQCmd builds `causeway dlq list|show|replay|discard`.
func newDLQCmd() *cobra.Command {
	o := &dlqOpts{}
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Inspect, replay and discard dead letters",
		Long: `Inspect, replay and discard the dead letters of consumer groups.

A consumer group that gives up on a record (after its retries, or at once for
an event it cannot decode) writes it to dlq.<group> and parks the later
records of the same key behind it. "causeway dlq" reads those topics, and
replays or discards a letter by producing a record to replay.<group>: only
the group that failed gets it; it handles the letter again (or drops it),
then releases the key's parked records in order.

Letters are identified by GROUP/TOPIC/PARTITION/OFFSET of the original record.
Every replay and discard is recorded in an audit log (--audit-db, default
DATA-DIR/dlq.db): operator, action, letter, reason, dry run, time, replay
count. A letter replayed --max-replays times is refused unless --force.

With the databases of causeway up under --data-dir (or --service-db), a
letter's status is exact: parked while its key waits behind it, resolved
once released. Without them it comes from the audit log.`,
	}
	pf := cmd.PersistentFlags()
	addKafkaClientFlags(pf, &o.cfg)
	pf.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	pf.StringVar(&o.dataDir, "data-dir", "./data", "data directory of causeway up: audit log and the services' databases")
	pf.StringVar(&o.auditDB, "audit-db", "", "audit log SQLite file (default DATA-DIR/dlq.db)")
	pf.StringSliceVar(&o.serviceDBs, "service-db", nil,
		"GROUP=PATH: the SQLite file of the service running GROUP, for exact parked status (default: causeway up's files under DATA-DIR)")
	pf.IntVar(&o.maxReplays, "max-replays", dlq.DefaultMaxReplays, "loop guard: refuse to replay a letter replayed this many times, unless --force")
	pf.DurationVar(&o.timeout, "timeout", time.Minute, "give up reading or sending after this long (a bulk replay runs until done or interrupted)")
	cmd.AddCommand(newDLQListCmd(o), newDLQShowCmd(o), newDLQReplayCmd(o), newDLQDiscardCmd(o))
	return cmd
}

// session is an Inspector with its databases, closed together.
type session struct {
	in      *dlq.Inspector
	closers []func() error
}

func (s *session) Close() {
	if s.in != nil {
		s.in.Close()
	}
	for _, c := range s.closers {
		_ = c()
	}
}

// open validates the shared flags and opens the Inspector. The audit log
// is created when create is set (replay, discard); otherwise it is used
// only if it exists.
func (o *dlqOpts) open(ctx context.Context, create bool) (*session, error) {
	if o.output != "table" && o.output != "json" {
		return nil, fmt.Errorf("--output %q: want table or json", o.output)
	}
	if o.maxReplays < 1 {
		return nil, fmt.Errorf("--max-replays %d: want at least 1", o.maxReplays)
	}
	if err := o.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	s := &session{}
	opts := []dlq.Opt{dlq.WithMaxReplays(o.maxReplays)}
	path := o.auditDB
	if path == "" {
		path = filepath.Join(o.dataDir, "dlq.db")
	}
	if _, err := os.Stat(path); create || err == nil {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("audit db: %w", err)
		}
		s.closers = append(s.closers, db.Close)
		if err := db.Migrate(ctx, dlq.Migrations()); err != nil {
			s.Close()
			return nil, fmt.Errorf("audit db %s: %w", path, err)
		}
		opts = append(opts, dlq.WithAudit(dlq.NewAudit(db)))
	}
	services := map[string]string{}
	for g, name := range dlqServiceFiles {
		p := filepath.Join(o.dataDir, name+".db")
		if _, err := os.Stat(p); err == nil {
			services[g] = p
		}
	}
	for _, kv := range o.serviceDBs {
		g, p, ok := strings.Cut(kv, "=")
		if !ok || g == "" || p == "" {
			s.Close()
			return nil, fmt.Errorf("--service-db %q: want GROUP=PATH", kv)
		}
		if _, err := os.Stat(p); err != nil {
			s.Close()
			return nil, fmt.Errorf("--service-db %s: %w", g, err)
		}
		services[g] = p
	}
	for g, p := range services {
		db, err := sqlite.Open(ctx, p)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("service db of %s: %w", g, err)
		}
		s.closers = append(s.closers, db.Close)
		if hasParkTable(ctx, db) {
			opts = append(opts, dlq.WithServiceDB(g, db))
		}
	}
	in, err := dlq.New(o.cfg, opts...)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.in = in
	return s, nil
}

// hasParkTable reports whether db holds the consumer's park tables.
func hasParkTable(ctx context.Context, db *sqldb.DB) bool {
	var n int
	err := db.Read.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'consumer_parked_keys'`).Scan(&n)
	return err == nil && n == 1
}

func operatorDefault() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}

func newDLQListCmd(o *dlqOpts) *cobra.Command {
	var ff filterFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead letters, filtered by group, topic, key, error, kind, status and time",
		Example: `  causeway dlq list
  causeway dlq list --group payment-service --since 1h --error timeout
  causeway dlq list --status unresolved --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			s, err := o.open(ctx, false)
			if err != nil {
				return err
			}
			defer s.Close()
			ls, err := s.in.List(ctx, f)
			if err != nil {
				return err
			}
			if o.output == "json" {
				if ls == nil {
					ls = []dlq.Letter{}
				}
				return writeJSON(cmd.OutOrStdout(), ls)
			}
			return printLetters(cmd.OutOrStdout(), ls)
		},
	}
	ff.add(cmd)
	return cmd
}

func newDLQShowCmd(o *dlqOpts) *cobra.Command {
	return &cobra.Command{
		Use:     "show LETTER-ID",
		Short:   "Show one dead letter: envelope, headers, error history and audit trail",
		Example: `  causeway dlq show payment-service/orders/3/1042`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			s, err := o.open(ctx, false)
			if err != nil {
				return err
			}
			defer s.Close()
			d, err := s.in.Show(ctx, args[0])
			if err != nil {
				return err
			}
			if o.output == "json" {
				return writeJSON(cmd.OutOrStdout(), d)
			}
			return printDetail(cmd.OutOrStdout(), d)
		},
	}
}

func newDLQReplayCmd(o *dlqOpts) *cobra.Command {
	var (
		ff       filterFlags
		all      bool
		ro       dlq.ReplayOptions
		operator string
	)
	cmd := &cobra.Command{
		Use:   "replay [LETTER-ID...]",
		Short: "Replay dead letters to the group that failed them (by id, by filter, or resume a job)",
		Long: `Replay dead letters: each goes to replay.<group>, so only the group that
failed it handles it again, then releases its key's parked records in order.

Select letters by id, by filter flags (unresolved letters only unless
--status says otherwise), or --all unresolved letters. A bulk replay (a filter
or several ids) is a job recorded in the audit log with a checkpoint; if it
is interrupted (Ctrl-C), --resume JOB continues where it stopped. --dry-run
shows what would be replayed and sends nothing; --rate caps letters per
second. A letter replayed --max-replays times already is refused unless
--force; the command then exits non-zero.`,
		Example: `  causeway dlq replay payment-service/orders/3/1042 --reason "gateway fixed"
  causeway dlq replay --group payment-service --error timeout --dry-run
  causeway dlq replay --group payment-service --rate 20 --reason "gateway fixed"
  causeway dlq replay --resume job-0192f3…`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := ff.filter()
			if err != nil {
				return err
			}
			if all {
				if f.Status == "" {
					f.Status = dlq.StatusUnresolved
				}
			}
			sel := dlq.Selection{IDs: args, Filter: f}
			n := 0
			for _, c := range []bool{len(args) > 0, !f.IsZero() || all, ro.Resume != ""} {
				if c {
					n++
				}
			}
			switch {
			case n == 0:
				return errors.New("replay: give letter ids, filter flags (--group, --key, …), --all or --resume JOB")
			case n > 1:
				return errors.New("replay: give letter ids, filter flags (or --all), or --resume, not several")
			case ro.Rate < 0:
				return fmt.Errorf("replay: --rate %v: want 0 (no cap) or more", ro.Rate)
			}
			if len(args) > 0 {
				sel.Filter = dlq.Filter{}
			}
			ro.Operator = operator
			s, err := o.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer s.Close()
			w := cmd.OutOrStdout()
			if o.output == "table" {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RESULT\tLETTER\tKEY\tREPLAYS\tNOTE")
				ro.OnProgress = func(out dlq.Outcome) {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", out.Result, out.LetterID, out.Key, out.ReplayCount, out.Error)
					_ = tw.Flush()
				}
			}
			res, rerr := s.in.Replay(cmd.Context(), sel, ro)
			if res == nil {
				return rerr
			}
			if o.output == "json" {
				if res.Outcomes == nil {
					res.Outcomes = []dlq.Outcome{}
				}
				if err := writeJSON(w, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(w, "replayed %d, would replay %d, refused %d, skipped %d\n",
					res.Replayed, res.WouldReplay, res.Refused, res.Skipped)
				if res.JobID != "" {
					fmt.Fprintf(w, "job %s (continue an interrupted job with --resume %s)\n", res.JobID, res.JobID)
				}
			}
			return rerr
		},
	}
	ff.add(cmd)
	f := cmd.Flags()
	f.BoolVar(&all, "all", false, "every unresolved letter of every group (or of --group)")
	f.BoolVar(&ro.DryRun, "dry-run", false, "show what would be replayed; send nothing")
	f.Float64Var(&ro.Rate, "rate", 0, "at most this many letters per second (0: no cap)")
	f.BoolVar(&ro.Force, "force", false, "replay letters the loop guard refuses")
	f.StringVar(&ro.Reason, "reason", "", "why (audited, and sent with the replay)")
	f.StringVar(&operator, "operator", operatorDefault(), "who is replaying (audited; default $USER)")
	f.StringVar(&ro.Resume, "resume", "", "continue the bulk replay job JOB where it stopped")
	return cmd
}

func newDLQDiscardCmd(o *dlqOpts) *cobra.Command {
	var do dlq.DiscardOptions
	cmd := &cobra.Command{
		Use:     "discard LETTER-ID --reason TEXT",
		Short:   "Discard a dead letter (audited, reason required); its key's parked records are released",
		Example: `  causeway dlq discard payment-service/orders/3/1042 --reason "test order, customer deleted"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(do.Reason) == "" {
				return errors.New("discard: --reason is required (it is audited)")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			s, err := o.open(ctx, true)
			if err != nil {
				return err
			}
			defer s.Close()
			out, err := s.in.Discard(ctx, args[0], do)
			if err != nil {
				return err
			}
			if o.output == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s (key %s)\n", out.Result, out.LetterID, out.Key)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&do.Reason, "reason", "", "why (required, audited)")
	f.StringVar(&do.Operator, "operator", operatorDefault(), "who is discarding (audited; default $USER)")
	f.BoolVar(&do.DryRun, "dry-run", false, "check and audit, send nothing")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func printLetters(w io.Writer, ls []dlq.Letter) error {
	if len(ls) == 0 {
		_, err := fmt.Fprintln(w, "no dead letters")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tKEY\tKIND\tATTEMPTS\tREPLAYS\tPARKED\tLAST FAILURE\tERROR")
	for _, l := range ls {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", l.ID, l.Status, clip(l.Key, 24), l.Kind,
			l.Attempts, l.ReplayCount, l.ParkedRecords, fmtTime(l.LastFailure), clip(l.Error, 60))
	}
	return tw.Flush()
}

func printDetail(w io.Writer, d *dlq.Detail) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"id", d.ID}, {"status", string(d.Status)}, {"group", d.Group}, {"topic", d.OriginalTopic},
		{"partition", strconv.Itoa(int(d.Partition))}, {"offset", strconv.FormatInt(d.Offset, 10)},
		{"key", d.Key}, {"error", d.Error}, {"kind", d.Kind + " (" + d.Class + ")"},
		{"attempts", strconv.Itoa(d.Attempts)}, {"replays", strconv.Itoa(d.ReplayCount)},
		{"first failure", fmtTime(d.FirstFailure)}, {"last failure", fmtTime(d.LastFailure)},
		{"parked records", strconv.Itoa(d.ParkedRecords)},
		{"in dlq", fmt.Sprintf("dlq.%s partition %d offset %d", d.Group, d.DLQPartition, d.DLQOffset)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d.Envelope != nil {
		fmt.Fprintf(w, "\nenvelope:\n%s\n", d.Envelope)
	} else {
		fmt.Fprintf(w, "\nvalue (not JSON):\n%q\n", d.Value)
	}
	fmt.Fprintln(w, "\nheaders:")
	for _, h := range d.Headers {
		fmt.Fprintf(tw, "  %s\t%s\n", h.Key, clip(h.Value, 200))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nerror history:")
	fmt.Fprintln(tw, "  LAST FAILURE\tATTEMPTS\tREPLAYS\tKIND\tERROR")
	for _, h := range d.History {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\t%s\n", fmtTime(h.LastFailure), h.Attempts, h.ReplayCount, h.Kind, clip(h.Error, 80))
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\naudit:")
	if len(d.Audit) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, e := range d.Audit {
		dry := ""
		if e.DryRun {
			dry = " (dry run)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s%s\t%s\n", fmtTime(e.At), e.Operator, e.Action, dry, e.Reason)
	}
	return tw.Flush()
}
