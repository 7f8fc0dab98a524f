// Package projection keeps CQRS read models up to date from Kafka topics,
// exactly once, and rebuilds them from scratch without stopping queries.
//
// # Runner and checkpoints
//
// A Runner applies one Projection. It does not use a consumer group: it
// assigns itself every partition of the projection's topics (kgo direct
// consumption) at the offsets stored with the model in
// projection_checkpoints, and looks for new partitions every
// WithPartitionWatch. Each partition's fetched records are applied in
// batches (WithBatchMax); a batch is ONE transaction that
//
//  1. locks the projection's row in projection_state (FOR UPDATE on
//     PostgreSQL) and checks that the partition's stored checkpoint is
//     where this runner left it — if not (a rebuild swapped a model in,
//     or another instance applied), the runner seeks to the stored offset;
//  2. inserts the batch's event ids into the projection's dedup table
//     ("<name>__seen"), so an event delivered twice (the embedded broker
//     can repeat a batch at new offsets after a crash) is applied once;
//  3. calls Apply for each new event, in offset order;
//  4. upserts (projection, topic, partition, next offset).
//
// When one poll brings a few records of several partitions, those that fit
// in one batch together share its transaction, partition after partition
// (each checked in step 1 and checkpointed in step 4), as if each had its
// own; should it fail, they are applied one transaction per partition.
//
// So the model and its position always commit together: a restart resumes
// at the stored offsets, and a crash mid-batch rolls the whole batch back
// and redoes it. Nothing is ever half-applied.
//
// One runner per projection and database applies. The read service is one
// instance per database; on PostgreSQL Run also takes a session advisory
// lock per projection, so extra instances wait as standbys, and the
// checkpoint check in step 1 fences any overlap.
//
// # Failures
//
// A database error retries the batch with backoff. When Apply fails, the
// events before it are committed and the failing one is retried alone
// (WithRetry, default 3 tries, 100ms–2s full-jitter backoff); then the
// PoisonPolicy applies. The default, StopPartition, records the event in
// projection_errors and stops that partition at it — the model stays a
// consistent prefix of the log, other partitions go on, Status shows the
// error and WaitFor times out as stale; a restart after a fix retries it.
// SkipEvent records it and moves on (then rebuild once fixed). ParkKey
// records it, parks it in projection_parked and moves on; the later events
// of its topic and key are parked behind it until Runner.ReplayParked or
// Runner.DiscardParked releases them — other keys are not blocked. A value that
// is not a well-formed envelope (event.ErrMalformed) can never be applied:
// it is recorded and skipped. An unknown type or version (a newer
// producer) is poison without retries: deploying the newer reader fixes
// it. Nothing panics: a panicking Apply is an error.
//
// # Read-your-writes
//
// WaitFor(ctx, Offsets) blocks until the checkpoints pass the given
// record offsets or ctx ends (ErrStale). Offsets.String and ParseOffsets
// turn a position into an opaque token.
//
// # Rebuild
//
// Runner.Rebuild replays everything into shadow tables ("<table>__shadow",
// named through Tables) — from a History such as EventStoreHistory and/or
// the topics from their start — reports Progress for a progress bar, and
// once caught up swaps the shadow in with one transaction that pauses the
// live runner (it holds the state lock), applies the last records, drops
// the live tables and renames the shadow ones (ALTER TABLE … RENAME works
// in a transaction on SQLite and PostgreSQL). Queries read the live tables
// throughout and see either the old or the new model.
//
// Projections have no side effects: Apply writes only the projection's own
// tables through the given transaction and never produces to Kafka or calls
// a service, so replaying every event again sends no email and charges no
// card.
package projection
