// Package payment is the payment service: a simulated card gateway and a
// payments ledger, driven by events (consumer group payment-service, topics
// orders and inventory).
//
//   - order.placed: charge the order's total once (authorise and capture in
//     one step) → payment.succeeded, or payment.failed when the card is
//     declined. card_flaky fails transiently on the first two attempts: the
//     handler returns a retryable error and the consumer runtime retries.
//   - stock.reservation-failed, stock.released, and order.cancelled with
//     reason customer_cancelled: refund a captured payment once →
//     payment.refunded, carrying the cause (out_of_stock, shipping_failed,
//     customer_cancelled) from which the order service takes the
//     cancellation reason.
//
// A payment row per order (primary key order_id) and a ledger with one
// authorisation, one capture and at most one refund per order (primary key
// order_id, kind)
// make double charges and double refunds impossible, whatever the
// redeliveries. Decisions (Gateway.Charge, Decide…) are pure; Handler does
// the I/O in the consumer's transaction and writes events to the outbox.
package payment
