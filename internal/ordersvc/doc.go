// Package ordersvc is the order service: it owns the order database (the
// event store of event-sourced orders, the outbox and its own tables), and
// handles the commands (Place, Cancel) and the queries (Get, GetAt, Events)
// the HTTP API exposes. The HTTP layer (internal/httpapi) decodes and
// validates requests; this package never sees HTTP.
//
// # Writes
//
// Every command is one local transaction: the order's new events are
// appended to its stream ("order-<id>") and, in the same transaction, one
// outbox row per event is written for topic "orders", keyed by userId, whose
// value is the event envelope as JSON and whose headers are the CloudEvents
// binary-mode attributes (ce_*) plus a W3C traceparent. The outbox relay
// publishes the rows; nothing is ever "written, then published".
//
// # Idempotency-Key
//
// Place takes an optional idempotency key. Keys are global (not per user:
// without authentication the key is the only identity a retry has), so the
// same key with a different body is a conflict even if the userId differs.
// The design:
//
//   - The table order_idempotency(idem_key PRIMARY KEY, request_hash,
//     order_id, created_at) is written in the SAME transaction as the
//     order.placed append and its outbox row: first the row is claimed with
//     INSERT … ON CONFLICT DO NOTHING, then the events are appended (last,
//     as sqlstore asks). Either all three commit or none: a crash at any
//     point leaves either no trace (the retry places the order) or the
//     whole order (the retry gets the first answer). There is no window in
//     which an order exists without its key or a key without its order.
//   - request_hash is SHA-256 over the canonical JSON of the normalised
//     request (defaults filled in), so a retry with the same body matches
//     and any other body does not (ErrIdempotencyMismatch, HTTP 409).
//   - Concurrent retries: the claim is a write under a unique key. On SQLite
//     writers are serialised (BEGIN IMMEDIATE), so the second transaction
//     sees the first's committed row; on PostgreSQL the second INSERT
//     blocks on the first's uncommitted row until it commits (then inserts
//     nothing) or rolls back (then inserts). A transaction that claimed
//     nothing rolls back and answers from the committed row: one order, and
//     every caller gets the same answer.
//   - The first answer is not stored but rebuilt exactly from the event
//     store: orderId from the row, correlationId and the consistency token
//     (the global position) from the stream's first event, status
//     "placed".
//
// # Reads
//
// Queries read the event store directly for now (the read service comes
// later): Get folds every event of the order, GetAt only those at or before
// a time (the order did not exist before its first event: ErrNotFound),
// Events returns the stored envelopes in stream order.
//
// # Sagas
//
// Under choreography (the default) SagaHandler follows the payment,
// inventory and shipping events and moves the order's status with the
// same repository and outbox function. Under orchestration (Orchestrate)
// Place starts the order saga (package ordersaga) in the transaction that
// appends order.placed, Transition appends order.paid, order.reserved,
// order.shipped and order.cancelled from the saga's transitions in the
// orchestrator's transaction, and Cancel compensates the saga in the
// transaction that appends the customer's order.cancelled. The events on
// "orders" are the same in both modes.
package ordersvc
