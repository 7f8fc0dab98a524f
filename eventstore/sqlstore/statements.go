package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/causeway-dev/causeway/eventstore"
)

// The statements below are portable: $n placeholders and CASTs where
// PostgreSQL cannot infer a parameter's type, so both databases run the
// same text.

const (
	selectColumns = `position, stream_id, version, event_id, event_type, event_version, timestamp_us, data, ` +
		`correlation_id, causation_id, source, recorded_at_us`

	sqlClaimPositions = `UPDATE event_positions SET position = position + CAST($1 AS BIGINT) WHERE id = 1 RETURNING position`
	sqlStreamVersion  = `SELECT version FROM event_streams WHERE stream_id = $1`

	sqlLoad     = `SELECT ` + selectColumns + ` FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version`
	sqlLoadAt   = `SELECT ` + selectColumns + ` FROM events WHERE stream_id = $1 AND timestamp_us <= $2 ORDER BY version`
	sqlReadAll  = `SELECT ` + selectColumns + ` FROM events WHERE position > $1 ORDER BY position LIMIT $2`
	sqlReadCorr = `SELECT ` + selectColumns + ` FROM events WHERE correlation_id = $1 ORDER BY position`

	sqlSaveSnapshot = `INSERT INTO event_snapshots (stream_id, version, type, data, created_at_us) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, type = excluded.type, data = excluded.data,
created_at_us = excluded.created_at_us WHERE event_snapshots.version <= excluded.version`
	sqlLoadSnapshot = `SELECT version, type, data, created_at_us FROM event_snapshots WHERE stream_id = $1`
)

// rowsPerInsert bounds one multi-row INSERT: 12 parameters a row stays far
// below SQLite's (32766) and PostgreSQL's (65535) parameter limits.
const rowsPerInsert = 500

// stmtCache keeps generated statement texts, keyed by shape, for shapes
// with up to maxCachedN events (larger ones are built each time, so the
// cache stays small).
type stmtCache struct{ m sync.Map }

const maxCachedN = 64

type stmtKey struct {
	kind byte // 'i' insert, 'a'/'n'/'e' claim Any/NoStream/exact, 'A'/'N'/'E' one-statement append, 'r' records by id, 'd' any stored, 's'/'S' SQLite append (at version 0)
	n    int
}

func claimKind(expected int64) byte {
	switch expected {
	case eventstore.Any:
		return 'a'
	case eventstore.NoStream:
		return 'n'
	}
	return 'e'
}

func (c *stmtCache) get(k stmtKey, build func() string) string {
	if v, ok := c.m.Load(k); ok {
		return v.(string)
	}
	q := build()
	if k.n <= maxCachedN {
		c.m.Store(k, q)
	}
	return q
}

func placeholders(sb *strings.Builder, from, n int) {
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('$')
		sb.WriteString(strconv.Itoa(from + i))
	}
}

// insert returns the multi-row INSERT of n events.
func (c *stmtCache) insert(n int) string {
	return c.get(stmtKey{'i', n}, func() string {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO events (` + selectColumns + `) VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteByte('(')
			placeholders(&sb, 1+i*insertColumns, insertColumns)
			sb.WriteByte(')')
		}
		return sb.String()
	})
}

// claim returns the version claim for an append of nIDs events: $1 stream,
// $2 count, $3 expected version (exact only), then the ids. It returns the
// new version, or no row when the stream is not at the expected version or
// one of the ids is stored.
func (c *stmtCache) claim(expected int64, nIDs int) string {
	kind := claimKind(expected)
	return c.get(stmtKey{kind, nIDs}, func() string {
		var sb strings.Builder
		first := 3
		if kind == 'e' {
			first = 4
		}
		writeDup(&sb, first, 1, nIDs)
		sb.WriteByte(' ')
		writeClaim(&sb, kind)
		return sb.String()
	})
}

// writeDup writes the CTE dup, which has a row when one of the n ids in
// parameters $first, $first+step, … is stored. It is one unique-index
// lookup per id: an IN list can get a cached generic plan that scans the
// table (PostgreSQL plans it while the table is still small). Above
// maxCachedN ids (rare, uncached shapes) it is an IN list, as SQLite limits
// the depth of an expression.
func writeDup(sb *strings.Builder, first, step, n int) {
	if n > maxCachedN {
		sb.WriteString(`WITH dup AS (SELECT 1 FROM events WHERE event_id IN (`)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`$` + strconv.Itoa(first+i*step))
		}
		sb.WriteString(`))`)
		return
	}
	sb.WriteString(`WITH dup AS (SELECT 1 WHERE `)
	for i := range n {
		if i > 0 {
			sb.WriteString(` OR `)
		}
		sb.WriteString(`EXISTS (SELECT 1 FROM events WHERE event_id = $` + strconv.Itoa(first+i*step) + `)`)
	}
	sb.WriteByte(')')
}

// writeClaim writes the version claim proper; it refers to a CTE named dup.
func writeClaim(sb *strings.Builder, kind byte) {
	switch kind {
	case 'a':
		sb.WriteString(`INSERT INTO event_streams (stream_id, version) SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT) ` +
			`WHERE NOT EXISTS (SELECT 1 FROM dup) ` +
			`ON CONFLICT (stream_id) DO UPDATE SET version = event_streams.version + excluded.version RETURNING version`)
	case 'n':
		sb.WriteString(`INSERT INTO event_streams (stream_id, version) SELECT CAST($1 AS TEXT), CAST($2 AS BIGINT) ` +
			`WHERE NOT EXISTS (SELECT 1 FROM dup) ON CONFLICT (stream_id) DO NOTHING RETURNING version`)
	default:
		sb.WriteString(`UPDATE event_streams SET version = version + CAST($2 AS BIGINT) ` +
			`WHERE stream_id = $1 AND version = CAST($3 AS BIGINT) AND NOT EXISTS (SELECT 1 FROM dup) RETURNING version`)
	}
}

// pgRowParams is the number of parameters per event of appendPG.
const pgRowParams = 8

// maxOneStatement bounds the events of a one-statement append (PostgreSQL
// allows 65535 parameters); larger appends take the multi-statement path.
const maxOneStatement = 500

// appendPG returns PostgreSQL's one-statement append of n events, which
// does all three steps of the package doc with data-modifying CTEs: $1
// stream, $2 count, $3 recorded-at, $4 expected version (exact only), then
// pgRowParams per event (id, type, version, timestamp, data, correlation,
// causation, source). It returns the new version and last position, or no
// row when the claim failed.
func (c *stmtCache) appendPG(expected int64, n int) string {
	kind := claimKind(expected)
	return c.get(stmtKey{kind - 'a' + 'A', n}, func() string {
		first := 4
		if kind == 'e' {
			first = 5
		}
		// writeClaim expects the expected version in $3: renumber.
		var claim strings.Builder
		writeClaim(&claim, kind)
		claimSQL := strings.ReplaceAll(claim.String(), "$3", "$4")
		var sb strings.Builder
		writeDup(&sb, first, pgRowParams, n)
		sb.WriteString(`, s AS (`)
		sb.WriteString(claimSQL)
		sb.WriteString(`), p AS (UPDATE event_positions SET position = position + CAST($2 AS BIGINT) ` +
			`WHERE id = 1 AND EXISTS (SELECT 1 FROM s) RETURNING position), ` +
			`ins AS (INSERT INTO events (` + selectColumns + `) SELECT p.position - CAST($2 AS BIGINT) + v.k, CAST($1 AS TEXT), ` +
			`s.version - CAST($2 AS BIGINT) + v.k, v.id, v.typ, v.ver, v.ts, v.data, v.corr, v.caus, v.src, CAST($3 AS BIGINT) ` +
			`FROM s, p, (VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			a := first + i*pgRowParams
			fmt.Fprintf(&sb, `(%d,$%d,$%d,CAST($%d AS INTEGER),CAST($%d AS BIGINT),$%d,$%d,$%d,$%d)`,
				i+1, a, a+1, a+2, a+3, a+4, a+5, a+6, a+7)
		}
		sb.WriteString(`) AS v(k, id, typ, ver, ts, data, corr, caus, src)) SELECT s.version, p.position FROM s, p`)
		return sb.String()
	})
}

// anyStored returns the SELECT that tells whether one of n ids ($1…$n) is
// stored.
func (c *stmtCache) anyStored(n int) string {
	return c.get(stmtKey{'d', n}, func() string {
		var sb strings.Builder
		writeDup(&sb, 1, 1, n)
		sb.WriteString(` SELECT EXISTS (SELECT 1 FROM dup)`)
		return sb.String()
	})
}

// sqliteRowParams is the number of parameters per event of appendSQLite.
const sqliteRowParams = 8

// appendSQLite returns SQLite's one-statement append of n events: $1
// stream, $2 recorded-at, $3 expected version, then sqliteRowParams per
// event (id, type, version, timestamp, data, correlation, causation,
// source). It inserts the events at versions $3+1… if the stream is at
// version $3 (else nothing); positions are the rowids SQLite assigns,
// MAX(position)+1… The UNIQUE(event_id) constraint rejects a stored id.
func (c *stmtCache) appendSQLite(n int) string {
	return c.get(stmtKey{'s', n}, func() string {
		var sb strings.Builder
		sb.WriteString(`WITH h(v) AS (SELECT COALESCE(MAX(version), 0) FROM events WHERE stream_id = $1), ` +
			`x(k, id, typ, ver, ts, data, corr, caus, src) AS (VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			a := 4 + i*sqliteRowParams
			fmt.Fprintf(&sb, `(%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d)`, i+1, a, a+1, a+2, a+3, a+4, a+5, a+6, a+7)
		}
		sb.WriteString(`) INSERT INTO events (stream_id, version, event_id, event_type, event_version, timestamp_us, data, ` +
			`correlation_id, causation_id, source, recorded_at_us) ` +
			`SELECT $1, h.v + x.k, x.id, x.typ, x.ver, x.ts, x.data, x.corr, x.caus, x.src, $2 FROM h, x WHERE h.v = $3 ORDER BY x.k`)
		return sb.String()
	})
}

// appendNewSQLite is appendSQLite for an append at version 0 (a new
// stream), with the same parameters: a plain multi-row INSERT at versions
// 1…n, as UNIQUE(stream_id, version) rejects it when version 1 is stored.
func (c *stmtCache) appendNewSQLite(n int) string {
	return c.get(stmtKey{'S', n}, func() string {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO events (stream_id, version, event_id, event_type, event_version, timestamp_us, data, ` +
			`correlation_id, causation_id, source, recorded_at_us) VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			a := 4 + i*sqliteRowParams
			fmt.Fprintf(&sb, `($1,$3+%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$%d,$2)`, i+1, a, a+1, a+2, a+3, a+4, a+5, a+6, a+7)
		}
		return sb.String()
	})
}

// recordsByID returns the SELECT of the stored events among n ids, in
// position order.
func (c *stmtCache) recordsByID(n int) string {
	return c.get(stmtKey{'r', n}, func() string {
		var sb strings.Builder
		sb.WriteString(`SELECT ` + selectColumns + ` FROM events WHERE event_id IN (`)
		placeholders(&sb, 1, n)
		sb.WriteString(`) ORDER BY position`)
		return sb.String()
	})
}
