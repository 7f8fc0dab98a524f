// Package consumerpeer benchmarks Causeway's consumer runtime against peers
// doing the same consumer step on the same broker and the same records:
//
//   - raw: plain franz-go consume, no database (the ceiling);
//   - naive: plain franz-go, one SQLite transaction per event;
//   - franzbatch: plain franz-go, one SQLite transaction per fetched
//     partition batch (hand-rolled, the reference the runtime should reach);
//   - watermill: a Watermill message.Router over watermill-kafka v3 (Sarama)
//     in a consumer group, one SQLite transaction per message, ack after commit;
//   - causeway: consumer.Runner with the same handler work.
//
// Every side with a database does, per event: decode the envelope with
// event.Codec, dedup insert (group, eventId) — skipped if already there — a
// state upsert keyed by order id and an outbox-like row insert, in a SQLite
// transaction opened with sqlite.Open (the same tuning everywhere). Offsets
// are committed (or acked) only after the transaction commits.
//
// The broker is an in-process kfake cluster on 127.0.0.1 over real TCP; the
// topic has 6 partitions and is pre-produced once with N order envelopes
// keyed by 10k distinct order ids. Each side consumes it from the start in
// its own consumer group, into its own SQLite file.
//
// Per-key order is checked in the database: each record carries its
// per-key sequence number, and the state upsert counts every event whose
// sequence is not the previous one plus one.
//
// Run (one go test run, all sides side by side):
//
//	cd bench && go test -run='^$' -bench=. -benchtime=1x ./consumerpeer/
package consumerpeer
