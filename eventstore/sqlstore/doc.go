// Package sqlstore implements eventstore.Store on a sqldb.DB, for SQLite and
// PostgreSQL with one code path.
//
// # Schema
//
// Migrations (component "eventstore") create four tables: events (the
// global log; UNIQUE(stream_id, version) and UNIQUE(event_id), an index on
// (correlation_id, position) for traces), event_streams (one row per stream
// with its current version), event_positions (one row: the last assigned
// global position) and event_snapshots. Timestamps are stored as Unix
// microseconds on both databases; Data as text, byte for byte.
//
// # Append
//
// An append is three statements in one transaction (plus the outbox insert
// of WithOutbox):
//
//  1. claim the versions: a conditional UPDATE/upsert of the stream's row in
//     event_streams that also checks that none of the event ids is stored.
//     It locks the stream's row, so appenders of one stream serialise here;
//     no row returned means a conflict or a duplicate, which a second query
//     sorts out (conflict with the actual version, an exact repeat returning
//     the original result, or ErrDuplicateEvent);
//  2. claim the positions: UPDATE event_positions SET position = position + n
//     (on SQLite: read MAX(position));
//  3. insert the events with one multi-row INSERT (chunks of 500).
//
// On PostgreSQL an append of up to 500 events without outbox rows runs the
// three steps as one statement (data-modifying CTEs), so Append costs one
// round trip; with outbox rows the claim runs first, then outbox.Enqueue,
// then steps 2 and 3, so neither a conflict nor an exact repeat writes an
// outbox row.
//
// # Gap-free ReadAll
//
// Step 2 locks the single event_positions row until the transaction ends,
// so positions are handed out in the order transactions commit and a
// rolled-back transaction gives its positions back: the log is dense and a
// reader polling ReadAll(lastSeen) can never see position p+1 before p.
// On SQLite the single writer gives this for free, so there step 2 just
// reads MAX(position) and event_positions stays unused. On PostgreSQL it
// serialises the tail of all appending transactions (like a
// pg_advisory_xact_lock taken right before the insert would, but without
// the holes a sequence leaves on rollback): the lock is taken as late as
// possible, and held for the event insert and the commit, so appends to
// the whole store commit one at a time — with synchronous_commit on, at
// most about one WAL flush's worth of appends per flush. Callers of
// AppendTx should therefore append last in their transaction and commit
// promptly. AppendTx on PostgreSQL requires READ COMMITTED (the default).
package sqlstore
