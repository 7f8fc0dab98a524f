// Package schema holds the event contracts of the payment, inventory and
// shipping services: type names, versions and data shapes, plus NewCodec,
// which knows every event of the platform (these and the order events of
// package order).
//
// Records on the payments, inventory and shipping topics are keyed by
// orderId. Money is an int64 in minor units of an ISO 4217 currency, never
// a float. Every event a service produces while handling another carries
// the flow's correlationId and causationId = the handled event's eventId
// (event.CausedBy).
//
// The choreography these events drive:
//
//	order.placed ─▶ payment.succeeded | payment.failed
//	payment.succeeded ─▶ stock.reserved | stock.reservation-failed
//	stock.reserved ─▶ shipment.created | shipment.failed
//	stock.reservation-failed ─▶ payment.refunded (cause out_of_stock)
//	shipment.failed ─▶ stock.released (cause shipping_failed) ─▶ payment.refunded (cause shipping_failed)
//	order.cancelled (customer_cancelled) ─▶ payment.refunded, stock.released, shipment.cancelled (each if there is something to undo)
package schema
