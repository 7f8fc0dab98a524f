package sqlstore

import (
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
	kind byte // 'i' insert, 'a' claim Any, 'n' claim NoStream, 'e' claim exact, 'r' records by id
	n    int
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
	kind := byte('e')
	switch expected {
	case eventstore.Any:
		kind = 'a'
	case eventstore.NoStream:
		kind = 'n'
	}
	return c.get(stmtKey{kind, nIDs}, func() string {
		var sb strings.Builder
		sb.WriteString(`WITH dup AS (SELECT 1 FROM events WHERE event_id IN (`)
		first := 3
		if kind == 'e' {
			first = 4
		}
		placeholders(&sb, first, nIDs)
		sb.WriteString(`)) `)
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
