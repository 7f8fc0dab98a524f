package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/eventstore"
	"github.com/causeway-dev/causeway/eventstore/sqlstore"
	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/internal/schema"
	"github.com/causeway-dev/causeway/kafka"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// projectionsConfig locates the read service's database and the cluster.
type projectionsConfig struct {
	dataDir  string
	postgres string
	kafka    kafka.ClientConfig
}

func (c *projectionsConfig) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.dataDir, "data-dir", "./data", "directory of the read service's SQLite file (read.db)")
	f.StringVar(&c.postgres, "postgres", "", "PostgreSQL URL: the read service's schema "+SchemaOf(readServiceName)+" (instead of --data-dir)")
	f.StringSliceVar(&c.kafka.Brokers, "brokers", []string{kafka.DefaultBrokerAddr}, "Kafka seed brokers, host:port, comma-separated")
}

// orderStore opens the order service's event store: DATA-DIR/order.db
// read-only, or the order_service schema with --postgres.
func (c *projectionsConfig) orderStore(ctx context.Context) (eventstore.Store, func(), error) {
	if c.postgres != "" {
		db, err := openPostgres(ctx, c.postgres, SchemaOf("order"), 2)
		if err != nil {
			return nil, nil, err
		}
		return sqlstore.New(db), func() { _ = db.Close() }, nil
	}
	st, closeFn, err := openStoreRO(filepath.Join(c.dataDir, "order.db"))
	if err != nil {
		return nil, nil, err
	}
	return st, closeFn, nil
}

// open opens and migrates the read database and builds the read service
// (its runners are not started).
func (c *projectionsConfig) open(ctx context.Context) (*readmodel.Service, *sqldb.DB, error) {
	var (
		db  *sqldb.DB
		err error
	)
	if c.postgres != "" {
		db, err = openPostgres(ctx, c.postgres, SchemaOf(readServiceName), 4)
	} else {
		p := filepath.Join(c.dataDir, readServiceName+".db")
		if _, serr := os.Stat(p); serr != nil {
			return nil, nil, fmt.Errorf("%s: no read database (run causeway up or serve first, or give --data-dir): %w", p, serr)
		}
		db, err = sqlite.Open(ctx, p)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := readmodel.Migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	codec, err := schema.NewCodec()
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	if c.kafka.ClientID == "" {
		c.kafka.ClientID = "causeway-projections"
	}
	kopts, err := c.kafka.Opts()
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	svc, err := readmodel.New(ctx, db, codec, readmodel.WithRunnerOptions(projection.WithKafkaOpts(kopts...)))
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return svc, db, nil
}

func newProjectionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "projections",
		Short: "List the read service's projections, or rebuild one from scratch",
		Long: `The read service keeps its read models (projections) in DATA-DIR/read.db, or
the schema read_service under --postgres: ` + strings.Join(readmodel.Names(), ", ") + `.

  causeway projections list             checkpoints, lag, errors and parked events
  causeway projections parked NAME      parked events; --replay/--discard a key's
  causeway projections rebuild NAME     replay the topics from their start into
                                        a shadow copy, then swap it in atomically

A rebuild runs next to a live causeway up / serve: queries keep reading the
live tables until the swap, which pauses the live runner for a moment.
Projections have no side effects, so a rebuild sends no email and charges no
card.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newProjectionsListCmd(), newProjectionsRebuildCmd(), newProjectionsParkedCmd())
	return cmd
}

func newProjectionsParkedCmd() *cobra.Command {
	var (
		cfg          projectionsConfig
		topic, key   string
		replay, drop bool
	)
	cmd := &cobra.Command{
		Use:   "parked NAME",
		Short: "List a projection's parked events, or replay or discard a key's",
		Long: `The read service's projections park an event they cannot apply (e.g. an
unknown version) together with the later events of its topic and key, so
the other keys go on (policy ParkKey). This lists the parked events of the
projection NAME; with --topic and --key and one of:

  --replay    apply the key's parked events in order (once the cause is
              fixed, e.g. causeway upgraded to know the version); if one
              still fails nothing is released
  --discard   drop the key's failing event(s) and apply those parked
              behind them

it releases them; the key's later events are applied directly again.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if replay && drop {
				return fmt.Errorf("projections parked: --replay and --discard exclude each other")
			}
			if (replay || drop) && (topic == "" || key == "") {
				return fmt.Errorf("projections parked: --replay and --discard need --topic and --key")
			}
			ctx := cmd.Context()
			svc, db, err := cfg.open(ctx)
			if err != nil {
				return fmt.Errorf("projections parked: %w", err)
			}
			defer db.Close()
			r, err := svc.Runner(args[0])
			if err != nil {
				return fmt.Errorf("projections parked: %w", err)
			}
			if replay || drop {
				release, verb := r.ReplayParked, "replayed"
				if drop {
					release, verb = r.DiscardParked, "released (failing events discarded)"
				}
				n, err := release(ctx, topic, []byte(key))
				if err != nil {
					return fmt.Errorf("projections parked %s: %w", args[0], err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %d parked events of %s/%q %s\n", args[0], n, topic, key, verb)
				return nil
			}
			parked, err := projection.Parked(ctx, db, args[0])
			if err != nil {
				return fmt.Errorf("projections parked: %w", err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tKEY\tPARTITION\tOFFSET\tEVENT\tPARKED AT\tREASON")
			for _, p := range parked {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", p.Topic, p.Key, p.Partition, p.Offset, p.EventID,
					p.ParkedAt.Format(time.RFC3339), p.Reason)
			}
			return tw.Flush()
		},
	}
	cfg.flags(cmd)
	f := cmd.Flags()
	f.StringVar(&topic, "topic", "", "the parked key's topic")
	f.StringVar(&key, "key", "", "the parked record key")
	f.BoolVar(&replay, "replay", false, "apply the key's parked events")
	f.BoolVar(&drop, "discard", false, "drop the key's failing events, apply the rest")
	return cmd
}

func newProjectionsRebuildCmd() *cobra.Command {
	var (
		cfg     projectionsConfig
		timeout time.Duration
		from    string
	)
	cmd := &cobra.Command{
		Use:   "rebuild NAME",
		Short: "Rebuild a projection from the start of its topics and swap it in",
		Long: `Rebuild the projection NAME (` + strings.Join(readmodel.Names(), ", ") + `): replay its topics
from their start into shadow tables, with a progress bar on stderr (events
done/total, rate, ETA), then swap the shadow tables in with one short
transaction. Live queries keep working; the swap fails safely (the live
model stays) if it cannot finish within 30s.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			svc, db, err := cfg.open(ctx)
			if err != nil {
				return fmt.Errorf("projections rebuild: %w", err)
			}
			defer db.Close()
			r, err := svc.Runner(args[0])
			if err != nil {
				return fmt.Errorf("projections rebuild: %w", err)
			}
			opts := []projection.RebuildOption{}
			switch from {
			case "topics":
			case "eventstore":
				store, closeStore, err := cfg.orderStore(ctx)
				if err != nil {
					return fmt.Errorf("projections rebuild --from eventstore: %w", err)
				}
				defer closeStore()
				opts = append(opts, projection.WithHistory(projection.EventStoreHistory(store, kafka.TopicOrders)))
			default:
				return fmt.Errorf("projections rebuild: --from %q: want topics or eventstore", from)
			}
			bar := &progressBar{w: cmd.ErrOrStderr()}
			res, err := r.Rebuild(ctx, append(opts, projection.WithProgress(bar.update))...)
			bar.finish()
			if err != nil {
				return fmt.Errorf("projections rebuild %s: %w", args[0], err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "rebuilt %s: %d events in %s (generation %d, live paused %s)\n",
				args[0], res.Events, res.Duration.Round(time.Millisecond), res.Generation, res.SwapDuration.Round(time.Millisecond))
			return nil
		},
	}
	cfg.flags(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (0: no limit)")
	cmd.Flags().StringVar(&from, "from", "topics", "topics: replay the topics from their start; eventstore: replay the order service's "+
		"event store first (the long-term history: works when retention trimmed the orders topic), then the topics (duplicates skipped)")
	return cmd
}

// progressBar draws a rebuild's progress on one terminal line.
type progressBar struct {
	w    io.Writer
	last int
}

func (b *progressBar) update(p projection.Progress) {
	const width = 30
	frac := 0.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	frac = min(max(frac, 0), 1)
	n := int(frac * width)
	eta := "-"
	if p.Rate > 0 {
		eta = p.ETA.Round(time.Second).String()
	}
	line := fmt.Sprintf("%-7s [%s%s] %3.0f%% %d/%d events  %.0f ev/s  ETA %s  elapsed %s",
		p.Phase, strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, p.Done, p.Total, p.Rate, eta,
		p.Elapsed.Round(100*time.Millisecond))
	pad := ""
	if len(line) < b.last {
		pad = strings.Repeat(" ", b.last-len(line))
	}
	b.last = len(line)
	fmt.Fprintf(b.w, "\r%s%s", line, pad)
}

func (b *progressBar) finish() {
	if b.last > 0 {
		fmt.Fprintln(b.w)
	}
}

// projectionInfo is one projection as `projections list` shows it.
type projectionInfo struct {
	Projection string              `json:"projection"`
	Partitions []partitionPosition `json:"partitions"`
	Lag        int64               `json:"lag"` // -1: unknown
	Errors     int                 `json:"errors"`
	Parked     int                 `json:"parked"`
	LastError  string              `json:"lastError,omitempty"`
}

type partitionPosition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Next      int64  `json:"next"`
	End       int64  `json:"end"` // -1: unknown
	Lag       int64  `json:"lag"` // -1: unknown
}

func newProjectionsListCmd() *cobra.Command {
	var (
		cfg    projectionsConfig
		output string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show each projection's checkpoints, lag and recorded errors",
		Long: `Show, for each projection of the read service, its checkpoint (next offset)
per partition, the lag behind the end of each partition (when the brokers
answer; "-" otherwise) and the events recorded in projection_errors.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("projections list: --output %q, want table or json", output)
			}
			ctx := cmd.Context()
			svc, db, err := cfg.open(ctx)
			if err != nil {
				return fmt.Errorf("projections list: %w", err)
			}
			defer db.Close()
			ends := endOffsets(ctx, cfg.kafka, cmd.ErrOrStderr())
			var infos []projectionInfo
			for _, name := range svc.Names() {
				info, err := describeProjection(ctx, db, name, ends)
				if err != nil {
					return fmt.Errorf("projections list: %w", err)
				}
				infos = append(infos, info)
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			}
			printProjections(cmd.OutOrStdout(), infos)
			return nil
		},
	}
	cfg.flags(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// endOffsets lists the end offsets of the read service's topics; nil when
// the brokers do not answer (a warning goes to errw).
func endOffsets(ctx context.Context, cfg kafka.ClientConfig, errw io.Writer) map[projection.TopicPartition]int64 {
	if cfg.ClientID == "" {
		cfg.ClientID = "causeway-projections"
	}
	opts, err := cfg.Opts()
	if err == nil {
		var cl *kgo.Client
		if cl, err = kgo.NewClient(opts...); err == nil {
			defer cl.Close()
			lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			var ends kadm.ListedOffsets
			if ends, err = kadm.NewClient(cl).ListEndOffsets(lctx, readTopics()...); err == nil {
				out := map[projection.TopicPartition]int64{}
				ends.Each(func(o kadm.ListedOffset) {
					if o.Err == nil {
						out[projection.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
					}
				})
				return out
			}
		}
	}
	fmt.Fprintf(errw, "projections: lag unknown: %v\n", err)
	return nil
}

func readTopics() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range readmodel.All() {
		for _, t := range p.Topics() {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

func describeProjection(ctx context.Context, db *sqldb.DB, name string, ends map[projection.TopicPartition]int64) (projectionInfo, error) {
	info := projectionInfo{Projection: name, Partitions: []partitionPosition{}}
	cps, err := projection.Checkpoints(ctx, db, name)
	if err != nil {
		return info, err
	}
	var topics []string
	for _, p := range readmodel.All() {
		if p.Name() == name {
			topics = p.Topics()
		}
	}
	all := map[projection.TopicPartition]bool{}
	for tp := range cps {
		all[tp] = true
	}
	for tp := range ends {
		for _, t := range topics {
			if tp.Topic == t {
				all[tp] = true
			}
		}
	}
	if ends == nil {
		info.Lag = -1
	}
	for tp := range all {
		pp := partitionPosition{Topic: tp.Topic, Partition: tp.Partition, Next: -1, End: -1, Lag: -1}
		if n, ok := cps[tp]; ok {
			pp.Next = n
		}
		if e, ok := ends[tp]; ok {
			pp.End = e
			pp.Lag = e - max(pp.Next, 0)
			if info.Lag >= 0 {
				info.Lag += pp.Lag
			}
		}
		info.Partitions = append(info.Partitions, pp)
	}
	sortPositions(info.Partitions)
	errs, err := projection.Errors(ctx, db, name)
	if err != nil {
		return info, err
	}
	info.Errors = len(errs)
	parked, err := projection.Parked(ctx, db, name)
	if err != nil {
		return info, err
	}
	info.Parked = len(parked)
	if len(errs) > 0 {
		e := errs[len(errs)-1]
		info.LastError = fmt.Sprintf("%s/%d@%d event %s (%s) %s, %s after %d attempts: %s",
			e.Topic, e.Partition, e.Offset, e.EventID, e.EventType, e.Kind, e.Action, e.Attempts, e.Error)
	}
	return info, nil
}

func sortPositions(ps []partitionPosition) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && (ps[j].Topic < ps[j-1].Topic || (ps[j].Topic == ps[j-1].Topic && ps[j].Partition < ps[j-1].Partition)); j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

func printProjections(w io.Writer, infos []projectionInfo) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROJECTION\tTOPIC\tPARTITION\tNEXT\tEND\tLAG\tERRORS\tPARKED")
	dash := func(n int64) string {
		if n < 0 {
			return "-"
		}
		return fmt.Sprint(n)
	}
	for _, in := range infos {
		if len(in.Partitions) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%d\t%d\n", in.Projection, in.Errors, in.Parked)
		}
		for _, p := range in.Partitions {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\n", in.Projection, p.Topic, p.Partition, dash(p.Next), dash(p.End), dash(p.Lag), in.Errors, in.Parked)
		}
	}
	_ = tw.Flush()
	for _, in := range infos {
		if in.LastError != "" {
			fmt.Fprintf(w, "%s: last error: %s\n", in.Projection, in.LastError)
		}
	}
}
