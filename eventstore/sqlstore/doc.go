// Package sqlstore implements eventstore.Store on a sqldb.DB, for SQLite and
// PostgreSQL: one schema and one read path, and an append tuned to each
// database.
//
// # Schema
//
// Migrations (component "eventstore") create events (the global log;
// UNIQUE(stream_id, version) and UNIQUE(event_id), an index on
// (correlation_id, position) for traces), event_snapshots and, on
// PostgreSQL only, event_streams (one row per stream with its current
// version) and event_positions (one row: the last assigned global
// position); migration 2 drops event_streams on SQLite, where the single
// writer makes it unnecessary; migration 3 replaces the correlation index
// on SQLite (see below). Timestamps are stored as Unix microseconds on both
// databases; Data as text, byte for byte.
//
// # Correlation index on SQLite
//
// On SQLite ReadCorrelation reads event_correlations, a WITHOUT ROWID
// table keyed (correlation_id, position), up to the position held by
// event_correlations_indexed, and scans the log after that position (a
// rowid range) for the rest — one statement, one snapshot, so the answer
// is exactly the events of the flow, as with an index on events. The
// appends fill the table: once the log is 256 events past the indexed
// position, the append indexes everything after it with one INSERT …
// SELECT and moves the indexed position, in its own transaction, so the
// index commits or rolls back with the events it covers. The tail a read
// scans stays around 256 events (plus the largest append). An index on
// events itself was one more B-tree page in every append's commit.
//
// # Append on SQLite
//
// SQLite has one writer, so an append's transaction sees no concurrent
// append, and the append is one INSERT of the events (statement prepared
// once per shape): the stream's version is MAX(version) (one seek in
// UNIQUE(stream_id, version)), the positions are the rowids SQLite assigns
// (MAX(position)+1, …, dense, given back on rollback), and a stored id is
// caught by the UNIQUE(event_id) constraint instead of being looked up
// first. At an exact expected version the INSERT … SELECT inserts nothing
// when MAX(version) differs; at version 0 (a new stream) it is a plain
// multi-row INSERT at versions 1…n, which UNIQUE(stream_id, version)
// rejects if the stream exists; at Any the version is read first. Only
// when the INSERT inserts nothing or fails on a constraint are the stored
// ids read, to return an exact repeat's original result, ErrDuplicateEvent
// or a *ConflictError (a failed statement is undone, the transaction goes
// on). WithOutbox rows are inserted after the events, so a conflict or a
// repeat writes none. An append of more than 500 events checks its ids
// first and inserts in chunks of 500.
//
// Why: a commit writes every dirty page to the WAL (two pwrites each), and
// that dominates the cost of a small append. An event touches three
// B-trees (the table and its two unique indexes: ~3.6 WAL frames a commit
// for one event, against ~1.2 for a plain table); the former per-event
// correlation index made it four (~4.9 frames), the former event_streams
// row, a claim statement and a position read a fifth page and two
// statements.
//
// # Append on PostgreSQL
//
// An append is three steps in one transaction (plus the outbox insert
// of WithOutbox):
//
//  1. claim the versions: a conditional UPDATE/upsert of the stream's row in
//     event_streams that also checks that none of the event ids is stored.
//     It locks the stream's row, so appenders of one stream serialise here;
//     no row returned means a conflict or a duplicate, which a second query
//     sorts out (conflict with the actual version, an exact repeat returning
//     the original result, or ErrDuplicateEvent);
//  2. claim the positions: UPDATE event_positions SET position = position + n;
//  3. insert the events with one multi-row INSERT (chunks of 500).
//
// An append of up to 500 events without outbox rows runs the three steps
// as one statement (data-modifying CTEs), so Append costs one round trip;
// with outbox rows the claim runs first, then outbox.Enqueue, then steps 2
// and 3, so neither a conflict nor an exact repeat writes an outbox row.
//
// # Gap-free ReadAll
//
// On PostgreSQL, step 2 locks the event_positions row until the transaction ends,
// so positions are handed out in the order transactions commit and a
// rolled-back transaction gives its positions back: the log is dense and a
// reader polling ReadAll(lastSeen) can never see position p+1 before p.
// On SQLite the single writer gives this for free (see above). On
// PostgreSQL the lock serialises the tail of all appending transactions (like a
// pg_advisory_xact_lock taken right before the insert would, but without
// the holes a sequence leaves on rollback): the lock is taken as late as
// possible, and held for the event insert and the commit, so appends to
// the whole store commit one at a time — with synchronous_commit on, at
// most about one WAL flush's worth of appends per flush. Callers of
// AppendTx should therefore append last in their transaction and commit
// promptly. AppendTx on PostgreSQL requires READ COMMITTED (the default).
package sqlstore
