// Package inventory is the inventory service: stock per product, seeded
// from the catalog, and one reservation per order (consumer group
// inventory-service, topics orders, payments and shipping).
//
// It learns an order's items from order.placed (topic orders) and is told
// to reserve them by payment.succeeded (topic payments). The two topics are
// not ordered with respect to each other, so payment.succeeded can arrive
// first. The service does not retry in that case; it stores and waits: every
// fact about an order (items, paid, cancelled, shipment failed) is written
// to the order's row as it arrives, and the pure function Next decides from
// the row what to do now. The reservation is made by whichever of the two
// events arrives second, and it is caused by payment.succeeded in both cases.
//
//   - reserve: all lines at once or none (→ stock.reserved, or
//     stock.reservation-failed with reason out_of_stock). Stock never goes
//     negative: Plan checks availability, the updates are guarded
//     (available >= quantity) and the table has CHECK constraints.
//   - release: exactly once, when the order is reserved and shipment.failed
//     or order.cancelled arrives (→ stock.released with the cause).
//   - an order cancelled before it was paid is never reserved.
//
// available + reserved = the catalog's initial stock, per product, always.
package inventory
