package outbox

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/causeway-dev/causeway/sqldb"
	"github.com/causeway-dev/causeway/tracing"
)

// NotifyChannel is the sqldb notification name Enqueue signals on commit, so
// an in-process Relay wakes at once instead of waiting for its poll.
const NotifyChannel = "outbox"

// ErrInvalidMessage is returned (wrapped) by Enqueue for a message that can
// never be published, such as one without a topic.
var ErrInvalidMessage = errors.New("outbox: invalid message")

// rowsPerInsert bounds one multi-row INSERT: 5 parameters a row stays far
// below SQLite's (32766) and PostgreSQL's (65535) parameter limits.
const rowsPerInsert = 500

// Enqueue inserts msgs into the outbox table inside tx. They become visible
// to the relay when tx commits; the relay is woken then (through
// tx.OnCommit and DB.Notify). Nothing is written when tx rolls back.
//
// The insert itself is deferred to the commit (sqldb.Tx.Defer): all the
// messages a transaction enqueues — a consumer batch's, from many handler
// calls — go in with a few multi-row INSERTs, in the order they were
// enqueued (so the ids keep that order), right before the commit; those of
// work rolled back to a savepoint are dropped with it. A query in tx does
// not see them before the commit.
//
// Message.ID and Message.CreatedAt are ignored: the database assigns the id
// and Enqueue stamps the current time. An empty Key is published as a null
// key (no ordering guarantee) and a nil Value as a null value (a
// tombstone). Every message is checked before anything is
// written; an invalid one fails the whole call with ErrInvalidMessage.
//
// A message without a traceparent header gets the one of the span context
// in ctx, when there is one (tracing is on and ctx is a request's or a
// consumer handler's): the relay's producer span continues that trace
// (see WithTracerProvider). A traceparent the message has is kept.
func Enqueue(ctx context.Context, tx *sqldb.Tx, msgs ...Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if tp, ok := tracing.Traceparent(ctx); ok {
		msgs = withTraceparent(msgs, tp)
	}
	var problems []error
	for i, m := range msgs {
		if m.Topic == "" {
			problems = append(problems, fmt.Errorf("%w: message %d: empty topic", ErrInvalidMessage, i))
		}
	}
	if err := errors.Join(problems...); err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, m := range msgs {
		m.CreatedAt = now
		tx.Defer(deferKey, m, flushRows)
	}
	db := tx.DB()
	tx.OnCommit(func() { db.Notify(NotifyChannel) })
	return nil
}

// deferKey is the key of the outbox rows among a transaction's deferred
// writes.
const deferKey = "outbox"

// chunkSizes are the sizes of the INSERTs flushRows writes: a few fixed
// statement shapes, which the database adapters keep prepared, instead of
// one per number of rows.
var chunkSizes = [...]int{rowsPerInsert, 64, 16, 4, 1}

// flushRows inserts the deferred messages (Message values, in enqueue
// order), with INSERTs of chunkSizes rows.
func flushRows(ctx context.Context, tx *sqldb.Tx, items []any) error {
	msgs := make([]Message, len(items))
	for i, it := range items {
		msgs[i] = it.(Message)
	}
	for len(msgs) > 0 {
		n := 1
		for _, c := range chunkSizes {
			if len(msgs) >= c {
				n = c
				break
			}
		}
		if err := insertRows(ctx, tx, msgs[:n]); err != nil {
			return err
		}
		msgs = msgs[n:]
	}
	return nil
}

// withTraceparent returns msgs with a traceparent header tp on those that
// have none, copying what it changes (the caller's slices are not touched).
func withTraceparent(msgs []Message, tp string) []Message {
	var out []Message
	for i, m := range msgs {
		if slices.ContainsFunc(m.Headers, func(h Header) bool { return h.Key == tracing.HeaderTraceparent }) {
			continue
		}
		if out == nil {
			out = slices.Clone(msgs)
		}
		out[i].Headers = append(slices.Clip(m.Headers), Header{Key: tracing.HeaderTraceparent, Value: tp})
	}
	if out == nil {
		return msgs
	}
	return out
}

// insertRows inserts msgs, each stamped with its CreatedAt, with one
// statement.
func insertRows(ctx context.Context, tx *sqldb.Tx, msgs []Message) error {
	var sb strings.Builder
	sb.WriteString(`INSERT INTO outbox (topic, key, value, headers, created_at) VALUES `)
	args := make([]any, 0, 5*len(msgs))
	var hbuf []byte // reused to encode each row's headers
	for i, m := range msgs {
		if i > 0 {
			sb.WriteByte(',')
		}
		if tx.Dialect == sqldb.SQLite {
			// Anonymous parameters: SQLite looks each named one ($n) up in
			// a list, which is quadratic in a statement this long.
			sb.WriteString("(?,?,?,?,?)")
		} else {
			n := len(args)
			sb.WriteString("($")
			sb.WriteString(strconv.Itoa(n + 1))
			for j := 2; j <= 5; j++ {
				sb.WriteString(",$")
				sb.WriteString(strconv.Itoa(n + j))
			}
			sb.WriteByte(')')
		}
		var headers any // NULL when there are none
		if len(m.Headers) > 0 {
			hbuf = appendHeadersJSON(hbuf[:0], m.Headers)
			headers = string(hbuf)
		}
		var value any // a nil Value stays NULL: a tombstone on the bus
		if m.Value != nil {
			value = m.Value
		}
		var created any = m.CreatedAt
		if tx.Dialect == sqldb.SQLite {
			created = m.CreatedAt.UnixMicro()
		}
		args = append(args, m.Topic, m.Key, value, headers, created)
	}
	if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
		return fmt.Errorf("outbox: insert %d rows: %w", len(msgs), err)
	}
	return nil
}
