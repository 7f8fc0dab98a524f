package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	_ "modernc.org/sqlite" // read-only outbox backlog of each service's SQLite file

	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/metrics"
)

// newStatusCmd shows consumer groups, their lag (records and seconds),
// dead-letter depth and, with --data-dir, each service's outbox backlog.
func newStatusCmd() *cobra.Command {
	var (
		cfg     kafka.ClientConfig
		groups  []string
		output  string
		dataDir string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show consumer groups, lag in records and seconds, DLQ depth and outbox backlog",
		Long: `Show what kafka-consumer-groups --describe shows, for every consumer group (or
the --group ones): the group's state and members (client id, host), and per
partition the committed offset, the end offset, the lag in records and the
lag in seconds — the age of the oldest record the group has not consumed
(read at the committed offset; 0 when caught up; "-" when it could not be
read in time). Then the depth of each group's dead-letter topic dlq.<group>
(records retained, replayed ones included) with the age of its oldest
letter, and, with --data-dir, the outbox backlog of each service's SQLite
file (DATA-DIR/*.db, opened read-only; files without an outbox are skipped).

It speaks only the Kafka protocol, so it works against the embedded broker of
causeway up / causeway broker and against a real cluster (--brokers, SASL,
TLS). Partial failures are printed to stderr; the exit status is non-zero
only when nothing could be measured.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("status: --output %q, want table or json", output)
			}
			if cfg.ClientID == "" {
				cfg.ClientID = "causeway-status"
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			cl, err := kafka.NewClient(cfg)
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			defer cl.Close()
			snap, err := metrics.Describe(ctx, kadm.NewClient(cl), cl, groups...)
			if snap == nil {
				return fmt.Errorf("status: %w", err)
			}
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "causeway status: warning: %v\n", err)
			}
			var backlogs []outboxBacklog
			if dataDir != "" {
				backlogs = outboxBacklogs(ctx, dataDir)
			}
			report := newStatusReport(snap, backlogs)
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(report)
			}
			return report.writeTable(cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	addKafkaClientFlags(f, &cfg)
	f.StringSliceVar(&groups, "group", nil, "only these consumer groups (repeat or comma-separate; default: all)")
	f.StringVarP(&output, "output", "o", "table", "output format: table or json")
	f.StringVar(&dataDir, "data-dir", "", "data directory of causeway up: also show each service's outbox backlog")
	f.DurationVar(&timeout, "timeout", 20*time.Second, "give up after this long")
	return cmd
}

// outboxBacklog is the outbox of one service database.
type outboxBacklog struct {
	Service string `json:"service"`
	Path    string `json:"path"`
	Backlog *int64 `json:"backlog"`
	Error   string `json:"error,omitempty"`
}

// outboxBacklogs counts the outbox rows of every DATA-DIR/*.db that has an
// outbox table, opening each read-only. Missing directories give nothing;
// a file that cannot be read is reported with its error.
func outboxBacklogs(ctx context.Context, dir string) []outboxBacklog {
	paths, _ := filepath.Glob(filepath.Join(dir, "*.db"))
	sort.Strings(paths)
	out := []outboxBacklog{}
	for _, p := range paths {
		b := outboxBacklog{Service: strings.TrimSuffix(filepath.Base(p), ".db"), Path: p}
		n, ok, err := countOutbox(ctx, p)
		switch {
		case err != nil:
			b.Error = err.Error()
		case !ok:
			continue // no outbox in this database
		default:
			b.Backlog = &n
		}
		out = append(out, b)
	}
	return out
}

// countOutbox returns the rows of path's outbox table, and false when the
// database has none.
func countOutbox(ctx context.Context, path string) (int64, bool, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, false, err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String())
	if err != nil {
		return 0, false, err
	}
	defer db.Close()
	var name string
	err = db.QueryRowContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'outbox'`).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// statusReport is the output of causeway status (JSON as is).
type statusReport struct {
	At          time.Time         `json:"at"`
	Groups      []statusGroup     `json:"groups"`
	Partitions  []statusPartition `json:"partitions"`
	DeadLetters []statusDLQ       `json:"deadLetters"`
	Outbox      []outboxBacklog   `json:"outbox,omitempty"`
}

type statusGroup struct {
	Group    string         `json:"group"`
	State    string         `json:"state"`
	Protocol string         `json:"protocol,omitempty"`
	Members  []statusMember `json:"members"`
	Error    string         `json:"error,omitempty"`
}

type statusMember struct {
	MemberID   string `json:"memberId"`
	ClientID   string `json:"clientId"`
	Host       string `json:"host"`
	Partitions int    `json:"partitions"`
}

type statusPartition struct {
	Group      string     `json:"group"`
	Topic      string     `json:"topic"`
	Partition  int32      `json:"partition"`
	Committed  *int64     `json:"committed"`
	End        *int64     `json:"end"`
	Lag        *int64     `json:"lag"`
	LagSeconds *float64   `json:"lagSeconds"`
	Oldest     *time.Time `json:"oldestUnconsumed,omitempty"`
	MemberID   string     `json:"memberId,omitempty"`
	ClientID   string     `json:"clientId,omitempty"`
	Host       string     `json:"host,omitempty"`
	Error      string     `json:"error,omitempty"`
}

type statusDLQ struct {
	Group            string     `json:"group"`
	Topic            string     `json:"topic"`
	Depth            int64      `json:"depth"`
	OldestAgeSeconds *float64   `json:"oldestAgeSeconds"`
	Oldest           *time.Time `json:"oldest,omitempty"`
}

// ptr returns &v when ok, else nil (JSON null).
func ptr[T any](v T, ok bool) *T {
	if !ok {
		return nil
	}
	return &v
}

func newStatusReport(s *metrics.Snapshot, backlogs []outboxBacklog) statusReport {
	r := statusReport{At: s.At.UTC(), Groups: []statusGroup{}, Partitions: []statusPartition{},
		DeadLetters: []statusDLQ{}, Outbox: backlogs}
	for _, g := range s.Groups {
		sg := statusGroup{Group: g.Group, State: g.State, Protocol: g.Protocol, Members: []statusMember{}}
		if g.Err != nil {
			sg.Error = g.Err.Error()
		}
		for _, m := range g.Members {
			sg.Members = append(sg.Members, statusMember{MemberID: m.MemberID, ClientID: m.ClientID, Host: m.Host, Partitions: m.Partitions})
		}
		r.Groups = append(r.Groups, sg)
	}
	for _, p := range s.Partitions {
		sp := statusPartition{
			Group: p.Group, Topic: p.Topic, Partition: p.Partition,
			Committed:  ptr(p.Committed, p.Committed >= 0),
			End:        ptr(p.End, p.End >= 0),
			Lag:        ptr(p.Lag, p.Lag >= 0),
			LagSeconds: ptr(roundMillis(p.LagSeconds), p.LagSecondsKnown),
			Oldest:     ptr(p.Oldest.UTC(), !p.Oldest.IsZero()),
			MemberID:   p.MemberID, ClientID: p.ClientID, Host: p.Host,
		}
		if p.Err != nil {
			sp.Error = p.Err.Error()
		}
		r.Partitions = append(r.Partitions, sp)
	}
	for _, d := range s.DeadLetters {
		r.DeadLetters = append(r.DeadLetters, statusDLQ{
			Group: d.Group, Topic: d.Topic, Depth: d.Depth,
			OldestAgeSeconds: ptr(roundMillis(d.OldestAgeSeconds), d.OldestKnown),
			Oldest:           ptr(d.Oldest.UTC(), !d.Oldest.IsZero()),
		})
	}
	return r
}

func roundMillis(s float64) float64 { return float64(int64(s*1000)) / 1000 }

// orDash formats v, or "-" for nil.
func orDash[T any](v *T, f func(T) string) string {
	if v == nil {
		return "-"
	}
	return f(*v)
}

func fmtInt(v int64) string { return strconv.FormatInt(v, 10) }

func fmtSeconds(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func (r statusReport) writeTable(out io.Writer) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "GROUP\tSTATE\tMEMBERS\tASSIGNOR\tERROR")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", g.Group, g.State, len(g.Members), dash(g.Protocol), dash(g.Error))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "GROUP\tMEMBER-ID\tCLIENT-ID\tHOST\tPARTITIONS")
	for _, g := range r.Groups {
		for _, m := range g.Members {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\n", g.Group, m.MemberID, m.ClientID, m.Host, m.Partitions)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "GROUP\tTOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\tLAG-SECONDS\tCLIENT-ID\tHOST")
	for _, p := range r.Partitions {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Group, p.Topic, p.Partition,
			orDash(p.Committed, fmtInt), orDash(p.End, fmtInt), orDash(p.Lag, fmtInt),
			orDash(p.LagSeconds, fmtSeconds), dash(p.ClientID), dash(p.Host))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "GROUP\tDLQ-TOPIC\tDEPTH\tOLDEST-AGE-SECONDS")
	for _, d := range r.DeadLetters {
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", d.Group, d.Topic, d.Depth, orDash(d.OldestAgeSeconds, fmtSeconds))
	}
	if r.Outbox != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "SERVICE\tOUTBOX-BACKLOG\tDATABASE")
		for _, b := range r.Outbox {
			v := orDash(b.Backlog, fmtInt)
			if b.Error != "" {
				v = "error: " + b.Error
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", b.Service, v, b.Path)
		}
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
