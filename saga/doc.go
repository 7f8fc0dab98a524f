// Package saga is a persisted saga orchestrator: it runs a Definition — a
// sequence of steps, each an Action command and an optional Compensation
// command — by sending commands to participants through the transactional
// outbox, correlating their replies, timing steps out, and on failure
// running the compensations of the completed steps in reverse order.
//
// # State machine
//
//	Start ─▶ running(step 0) ── success ─▶ running(step i+1) … ─▶ completed
//	             │ failure reply of step i: compensating(step i-1)
//	             │ timeout of step i (after Step.Retries resends): compensating(step i)
//	             ▼
//	        compensating(step j) ── success ─▶ compensating(step j-1) … ─▶ compensated
//	             │ failure reply, or timeout after WithCompensationAttempts sends
//	             ▼
//	          failed (stuck: Retry or Skip by an operator)
//
// Steps without a Compensation are skipped while compensating. A failed
// step was not done, so compensation starts with the step before it; a
// timed-out step may have been done, so it is compensated itself. Each
// state change is one transaction: the saga_instances row (with an
// optimistic version check), a saga_commands row per command, saga_history
// rows, and outbox rows for the commands. Commands are never published
// directly; an outbox.Relay publishes them.
//
// # Commands and replies (the participant's contract)
//
// A command is an event envelope: eventId = a fresh UUIDv7, the command
// id; eventType = Command.Type (e.g. "payment.process"); metadata
// correlationId = the saga's correlation id and causationId = the event
// that triggered it (Start's causation, the previous reply, or the command
// that timed out). It is published to Command.Topic with Command.Key, with
// CloudEvents ce_* headers and causeway-saga-id, causeway-saga-step and
// causeway-saga-phase.
//
// A participant answers each command with a reply on the reply topic
// (kafka.TopicSagaReplies), built with NewReply and ReplyMessage:
//
//   - metadata.causationId = the command's eventId — this alone correlates
//     the reply to its saga, step and phase;
//   - data {"outcome": "succeeded"|"failed", "reason": …, "result": {…}};
//     "failed" means a business refusal that took no effect;
//   - key = the command's record key, so one saga's replies stay in order;
//   - in the same transaction as its effect (consumer runtime + outbox).
//
// Delivery is at least once in both directions. The orchestrator ignores
// replies that are not for the step and phase the saga waits on
// (duplicates, late replies after a timeout, replies to finished sagas),
// and HandleReply reports false for them. Participants must deduplicate
// commands by eventId (the consumer runtime does), and because a timed-out
// command is sent again with a new id, must also make actions and
// compensations idempotent per business key (charge an order once, refund
// it at most once), answer "succeeded" to a compensation of something
// never done, and handle a late action after its compensation as a no-op
// (send both to the same topic and key to get them in order).
//
// # Timeouts, crashes and concurrency
//
// Each sent command sets the saga's deadline (Step.Timeout). Tick, called
// by Run every WithTickInterval, applies the timeout policy to sagas whose
// deadline passed by the injected Clock. All state is in the database: a
// restarted orchestrator goes on waiting for replies (the reply runner
// redelivers anything not committed) and timeouts (deadlines are stored),
// and outbox rows not yet published go out after the restart.
// Concurrent changes of one saga (a reply racing a timeout, two instances
// on PostgreSQL) are serialised by the version column: the loser gets
// ErrConflict, which the consumer runner retries and Tick leaves for the
// next tick.
//
// # Queries and operators
//
// Get returns a saga with its history; List pages through sagas by status
// and definition; Counts counts by status (for metrics and the dashboard).
// Compensate aborts a running saga (e.g. a customer's cancellation); Retry
// and Skip resolve a failed one.
package saga
