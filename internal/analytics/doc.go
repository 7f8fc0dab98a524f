// Package analytics is the analytics service: its own aggregates over the
// platform's events (consumer group analytics-service, topics orders and
// payments), served as one summary (GET /v1/analytics/summary).
//
//   - Orders by status: each order's latest status (analytics_orders) and a
//     count per status (analytics_status_counts), moved on every
//     transition. Statuses only move forward (Advance: placed → paid →
//     reserved → shipped | cancelled; the terminal ones never change), so
//     a duplicate or late event changes nothing, and the counts always sum
//     to the number of orders.
//   - Revenue: captured − refunded, in minor units per currency, bucketed
//     by the minute the payment event says it happened (succeededAt,
//     refundedAt) — business time, not processing time. Each order adds
//     at most one capture and one refund (analytics_payments), whatever
//     the redeliveries. The summary gives the all-time total per currency
//     and the buckets of the last 60 minutes.
//   - Top products: units and revenue of shipped orders, per product and
//     currency (money of two currencies is never added up), counted when
//     order.shipped arrives from the lines of its order.placed. Shipped,
//     not placed: it is what was actually sold, and it agrees with the
//     money (captured − refunded = the revenue of shipped orders once the
//     flows are settled).
//
// inventory and shipping are not consumed: everything above is in the
// order and payment events, and order.* (one topic, keyed by userId) is in
// order per order, so order.placed is handled before the events that need
// its lines.
//
// Exactly-once effects rest on the consumer runtime's dedup by eventId in
// the handler's transaction, plus the forward-only statuses and the
// per-order payment keys for events that repeat under a new eventId.
//
// Layout: analytics.go is pure (statuses, buckets, the summary's shape),
// handler.go the consumer, store.go the tables and the summary query.
package analytics
