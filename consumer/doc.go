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
//   - splits them by key hash into lanes (WithLanes: 1 on SQLite, 4 on
//     PostgreSQL); the ready records of one lane form a lane batch;
//   - runs the lane batches in transactions and waits for them. On
//     PostgreSQL every lane batch has its own transaction and the lanes run
//     in parallel. On SQLite, which has one writer, the workers hand their
//     lane batches to one group-commit writer goroutine, which runs every
//     batch already waiting, from all partitions, in ONE transaction (at
//     most 4 × WithBatchMax records, plus at most one worker's round), so
//     the write connection never idles while workers queue for it;
//   - after the commit, publishes the partition's watermark: the offset of
//     its first unfinished record (or the next offset when all are done).
//     A committer goroutine commits changed watermarks to Kafka, so an
//     offset is committed only after the transaction that handled the
//     records below it, and never past an unfinished record.
//
// A worker has at most one round in flight, so the records of one key are
// handled in offset order, never concurrently.
//
// # One batch transaction
//
// A batch transaction first checks which of its keys are parked (its first
// statement; on SQLite a one-row probe skips the lookup while the group
// has no parked key at all). Then it runs optimistically, without
// savepoints ("fast" mode): the records of parked keys are parked; an
// undecodable record holds back the rest of its key; ONE multi-row
// INSERT INTO consumer_processed … ON CONFLICT DO NOTHING RETURNING
// event_id dedups all the others (the first record of an event id in the
// batch is the one that may run; later ones, and ids handled before, are
// no-ops), and the handler runs for each new event. That is about the
// handler's own statements per event, plus a few per transaction.
//
// Handlers rarely fail. When one returns an error (or panics) in fast
// mode, the whole transaction is rolled back, the failure is remembered
// and the transaction is run again with that lane batch in "safe" mode:
// per record SAVEPOINT → dedup insert (the Dedup middleware) → handler →
// RELEASE; a failing record is rolled back to its savepoint (its dedup
// row with it) and its key is skipped for the rest of the batch, while
// other keys go on. The remembered failure is used for the failing record
// instead of calling the handler again, so each real failure counts as one
// attempt; the other records of the batch may be handed to the handler
// once more, in the new transaction (only committed writes count). Each
// pass turns at least one more lane batch safe, so a transaction runs at
// most once per lane batch plus once. A database error rolls back the
// whole transaction and its lane batches are retried after a pause.
//
// Records are decoded and upcast (Decoder, normally *event.Codec) before the
// handler chain, by a decode goroutine per partition, in chunks of
// WithBatchMax, so a partition's next records are decoded while its round
// waits for its transaction. Decoding is CPU work: at most GOMAXPROCS
// chunks are decoded at once, GOMAXPROCS-1 on SQLite, which leaves a core
// to the writer. The chain is Recover (a panic becomes a *PanicError),
// Dedup, the WithMiddleware middleware, then the Handler; the fast mode
// runs it without Dedup, for the events its bulk insert found new.
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
// kept. The park check is the batch transaction's first statement; on
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
// context is cancelled and it rolls back; on SQLite that is the shared
// group-commit transaction, whose other lane batches are then retried),
// their done watermarks are
// committed synchronously and their in-memory retry state is dropped; the
// next owner resumes from the committed offset, and dedup makes the overlap
// harmless. Lost partitions are dropped without a commit. When Run's context
// is cancelled, the runner stops fetching, does the same for every partition
// and leaves the group.
package consumer
