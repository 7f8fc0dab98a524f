package check

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/causeway-dev/causeway/internal/readmodel"
	"github.com/causeway-dev/causeway/projection"
	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/sqlite"
)

// ProjectionsRebuild is the invariant that the read model equals a
// rebuild of it from the topics.
const ProjectionsRebuild = "projections-rebuild"

// Add appends r to the report (a FAIL makes it not OK).
func (rep *Report) Add(r Result) {
	rep.Results = append(rep.Results, r)
	if r.Status == Fail {
		rep.OK = false
	}
}

// SkipProjections is the ProjectionsRebuild result when it cannot run.
func SkipProjections(why string) Result {
	return Result{Name: ProjectionsRebuild, Status: Skip, Summary: why}
}

// maxProjectionTries bounds the comparisons when the topics grew while
// one ran (the platform is still publishing).
const maxProjectionTries = 3

// CheckProjections checks that every projection of the read service in
// live (read.db, or the read_service schema) equals the same projection
// built from scratch, from the start of its topics, into a SQLite file in
// scratchDir: it takes the topics' end offsets, waits (bounded by ctx)
// until the live model has applied everything before them — its runners
// are those of the platform — builds the fresh model up to the same
// offsets, and compares every table row for row (values as text, rows in
// sorted order, so PostgreSQL and SQLite compare). If the topics grew
// meanwhile it compares again at the new ends. kopts reach the cluster
// (seed brokers at least); dec decodes the envelopes (schema.NewCodec).
func CheckProjections(ctx context.Context, live *sqldb.DB, dec projection.Decoder, kopts []kgo.Opt, scratchDir string) (Result, error) {
	r := Result{Name: ProjectionsRebuild}
	cl, err := kgo.NewClient(kopts...)
	if err != nil {
		return r, fmt.Errorf("check: projections: kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topicSet := map[string]bool{}
	for _, p := range readmodel.All() {
		for _, t := range p.Topics() {
			topicSet[t] = true
		}
	}
	topics := slices.Sorted(maps.Keys(topicSet))
	ends := func() (map[projection.TopicPartition]int64, error) {
		listed, err := adm.ListEndOffsets(ctx, topics...)
		if err != nil {
			return nil, fmt.Errorf("check: projections: end offsets: %w", err)
		}
		out := map[projection.TopicPartition]int64{}
		listed.Each(func(o kadm.ListedOffset) {
			if o.Err == nil {
				out[projection.TopicPartition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
			}
		})
		return out, nil
	}
	liveSvc, err := readmodel.New(ctx, live, dec)
	if err != nil {
		return r, fmt.Errorf("check: projections: live read model: %w", err)
	}
	freshDB, err := sqlite.Open(ctx, filepath.Join(scratchDir, "rebuilt-read.db"))
	if err != nil {
		return r, fmt.Errorf("check: projections: %w", err)
	}
	defer freshDB.Close()
	if err := readmodel.Migrate(ctx, freshDB); err != nil {
		return r, fmt.Errorf("check: projections: %w", err)
	}
	fresh, err := readmodel.New(ctx, freshDB, dec, readmodel.WithRunnerOptions(projection.WithKafkaOpts(kopts...)))
	if err != nil {
		return r, fmt.Errorf("check: projections: rebuild: %w", err)
	}
	fctx, stop := context.WithCancel(ctx)
	fresh.Start(fctx)
	defer func() { stop(); fresh.Wait() }()

	end, err := ends()
	if err != nil {
		return r, err
	}
	for try := 1; ; try++ {
		if err := liveSvc.CatchUp(ctx, end); err != nil {
			r.fail("the live read model did not apply the topics up to their ends (%d partitions): %v", len(end), err)
			return r.done(), nil
		}
		if err := fresh.CatchUp(ctx, end); err != nil {
			return r, fmt.Errorf("check: projections: rebuild did not reach the topics' ends: %w", err)
		}
		diffs, tables, rows, err := compareReadModels(ctx, live, freshDB)
		if err != nil {
			return r, err
		}
		again, err := ends()
		if err != nil {
			return r, err
		}
		if len(diffs) > 0 && !reflect.DeepEqual(again, end) && try < maxProjectionTries {
			end = again // the topics grew while we compared: compare at the new ends
			continue
		}
		for _, d := range diffs {
			r.fail("%s", d)
		}
		r.Summary = fmt.Sprintf("%d projections, %d tables, %d rows: live = rebuilt from the topics", len(readmodel.All()), tables, rows)
		return r.done(), nil
	}
}

// compareReadModels compares every table of every projection of a and b.
func compareReadModels(ctx context.Context, a, b *sqldb.DB) (diffs []string, tables, rows int, err error) {
	for _, p := range readmodel.All() {
		sch, ok := p.(projection.Schema)
		if !ok {
			return nil, 0, 0, fmt.Errorf("check: projections: %s does not list its tables", p.Name())
		}
		for _, table := range sch.TableNames() {
			ra, err := dumpTable(ctx, a, table)
			if err != nil {
				return nil, 0, 0, err
			}
			rb, err := dumpTable(ctx, b, table)
			if err != nil {
				return nil, 0, 0, err
			}
			tables++
			rows += len(ra)
			if slices.Equal(ra, rb) {
				continue
			}
			d := fmt.Sprintf("%s (%s): live has %d rows, the rebuild %d", p.Name(), table, len(ra), len(rb))
			for i := range max(len(ra), len(rb)) {
				if i >= len(ra) || i >= len(rb) || ra[i] != rb[i] {
					d += fmt.Sprintf("; first difference at sorted row %d: live %s, rebuilt %s", i, at(ra, i), at(rb, i))
					break
				}
			}
			diffs = append(diffs, d)
		}
	}
	return diffs, tables, rows, nil
}

func at(rows []string, i int) string {
	if i < len(rows) {
		return rows[i]
	}
	return "(none)"
}

// dumpTable returns the rows of table, each as its values in text joined
// by tabs, sorted.
func dumpTable(ctx context.Context, db *sqldb.DB, table string) ([]string, error) {
	rows, err := db.Read.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return nil, fmt.Errorf("check: projections: read %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("check: projections: read %s: %w", table, err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				parts[i] = "NULL"
			case []byte:
				parts[i] = string(v)
			default:
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "\t"))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check: projections: read %s: %w", table, err)
	}
	slices.Sort(out)
	return out, nil
}
