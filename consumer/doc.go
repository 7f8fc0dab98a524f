// Package consumer runs a Kafka consumer group whose handlers write to a SQL
// database (SQLite or PostgreSQL through sqldb), with exactly-once effects,
// per-key order, bounded retries, dead letters and key-aware parking.
//
// # Processing model
//
// A Runner joins its group with the cooperative-sticky balancer and manual
// offset commits, and consumes its topics plus ReplayTopic(group). Every
// assigned partition gets a worker goroutine that keeps the partition's
// unfinished records in offset order. A round of the worker:
//
//   - picks the ready records: per key, the first unfinished record and the
//     ones after it, unless the first is waiting for a retry (then the whole
//     key waits, and only that key); at most WithBatchMax per lane;
//   - splits them by key hash into lanes (WithLanes: 1 on SQLite, which has
//     one writer; 4 on PostgreSQL) and runs each lane in ONE transaction, the
//     lanes in parallel. In the transaction, per record: SAVEPOINT → dedup
//     insert of (group, eventId) into consumer_processed (a duplicate is a
//     no-op) → handler → RELEASE. A failing handler is rolled back to its
//     savepoint and its key is skipped for the rest of the batch; other keys
//     go on. Different partitions run in parallel;
//   - after the commit, publishes the partition's watermark: the offset of
//     its first unfinished record (or the next offset when all are done).
//     A committer goroutine commits changed watermarks to Kafka, so an
//     offset is committed only after the transaction that handled the
//     records below it, and never past an unfinished record.
//
// Records are decoded and upcast (Decoder, normally *event.Codec) before the
// handler chain. The chain is Recover (a panic becomes a *PanicError), Dedup,
// the WithMiddleware middleware, then the Handler.
//
// # Retries and dead letters
//
// A failed record is retried up to WithMaxAttempts times in total (default
// 5), after exponential backoff with full jitter (WithBackoff, default 100ms
// to 5s). Meanwhile it and the later records of its key wait in memory; the
// rest of the partition goes on, and the watermark stays below the failing
// record. Retries are scheduled by the worker rather than by a blocking
// middleware, which would stall the partition. Permanent(err) skips the
// retries. A record whose value does not decode (malformed, unknown type,
// unknown version, failed upcast) is dead-lettered at once (attempts = 1).
//
// After the last attempt the record is produced synchronously to
// DeadLetterTopic(group) ("dlq.<group>") with its key, value and headers plus
// the causeway-dlq-* headers (origin, group, error, kind, class, attempts,
// first and last failure, letter id). Then one transaction parks its key
// (consumer_parked_keys), and the record counts as done. If the process dies
// between the produce and that transaction, the record is consumed again
// after restart and the letter is produced again, with the same letter id
// (LetterID: group/topic/partition/offset): consumers of the dead-letter
// topic must treat the letter id as the identity.
//
// # Parking and replay
//
// While a key has an unresolved dead letter for the group, each later record
// of the key is not handled but stored in consumer_parked_records in the
// transaction that marks it done, so offsets advance and the key's order is
// kept. The park check is the lane transaction's first statement; on
// PostgreSQL it takes FOR SHARE locks on the park rows.
//
// A letter is resolved by a record on ReplayTopic(group) built with
// ReplayRecord: the letter's key, value and headers plus causeway-action
// (ActionReplay or ActionDiscard) and causeway-reason. The runner that owns
// the replay partition applies it in one transaction: lock the key's park
// row (FOR UPDATE on PostgreSQL; SQLite's single writer serialises); if the
// key is not parked behind this letter id, the record is stale and ignored;
// for replay, handle the letter (dedup applies); for discard, drop it; then
// drain the key's parked records in the order they were parked through the
// handler and delete the park. If the replayed letter fails again, it is
// dead-lettered again (same letter id, attempts counted on) and the key stays
// parked; if a drained record fails, it becomes the key's new dead letter and
// the records after it stay parked. Because a new record of a parked key
// takes the share lock before it parks itself, and a drain holds the update
// lock until it commits, a record can never be parked behind a park that a
// concurrent drain on another instance has already emptied. ListParked lists
// a group's parked keys.
//
// # Rebalances and shutdown
//
// On revocation the affected workers stop taking new rounds, finish the
// transaction in flight (bounded by WithShutdownTimeout, after which its
// context is cancelled and it rolls back), their done watermarks are
// committed synchronously and their in-memory retry state is dropped; the
// next owner resumes from the committed offset, and dedup makes the overlap
// harmless. Lost partitions are dropped without a commit. When Run's context
// is cancelled, the runner stops fetching, does the same for every partition
// and leaves the group.
package consumer
