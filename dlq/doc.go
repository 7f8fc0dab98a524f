// Package dlq is the operator's side of dead letters: it lists and shows
// the letters consumer groups gave up on, replays them to the group that
// failed, or discards them, with an audit log, a loop guard and resumable
// bulk replays. `causeway dlq` and the /v1/dlq HTTP endpoints are built on
// it.
//
// # Reading
//
// A consumer.Runner dead-letters a record to "dlq.<group>" with
// causeway-dlq-* headers (see package consumer); its letter id
// group/topic/partition/offset is its identity, since a letter can occur
// more than once (a duplicate after a crash, or a replay that failed
// again). An Inspector reads those topics (one group, or every "dlq.*"
// topic) from the start offsets up to the end offsets current when the call
// begins, so a read is bounded and never waits for new records. List
// returns one Letter per id, its latest occurrence, filtered by a Filter
// (ParseFilter reads one from query parameters or CLI flags). Show returns
// one letter with its envelope, headers, every occurrence (the error
// history) and the audit trail.
//
// # Status
//
// A letter is unresolved (StatusOpen, or StatusParked when the group's
// database, given with WithServiceDB, says its key is parked behind it)
// until a replay or discard is requested after its last failure, or the
// database says the key is no longer parked behind it. A replay that fails
// again makes a new occurrence with a later last failure, so the letter is
// unresolved again.
//
// # Replay and discard
//
// Replay and Discard produce consumer.ReplayRecord(group, letter, action,
// reason) to "replay.<group>", which only that group consumes: the runner
// handles (or drops) the letter, then drains the key's parked records in
// order. A replay record carries HeaderReplayCount; when the replay fails
// again the consumer copies it into the new letter, so the count travels
// with the letter. The loop guard refuses to replay a letter already
// replayed WithMaxReplays times (default 3; the larger of the header and
// the audit log's count) unless forced. Replays can be dry runs and rate
// limited.
//
// # Audit and jobs
//
// With WithAudit, every action (dry runs too) is a row of the audit log
// (Migrations, on SQLite or PostgreSQL): operator, action, letter id,
// reason, dry run, forced, time and the replay count after it, written in
// the transaction that produces the replay record. A bulk replay (a filter
// or several ids) is a job whose checkpoint (last letter, count) advances
// with each replayed letter; ReplayOptions.Resume continues an
// interrupted job, skipping what it already replayed.
package dlq
