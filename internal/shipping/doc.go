// Package shipping is the shipping service: one shipment per reserved
// order, with a carrier and a tracking number (consumer group
// shipping-service, topics orders and inventory).
//
// It learns the shipping address from order.placed (topic orders) and is
// told to ship by stock.reserved (topic inventory); like the inventory
// service it stores each fact on the order's row as it arrives and lets the
// pure function Next decide, so the two topics may arrive in any order.
//
//   - stock.reserved, address known → shipment.created, or shipment.failed
//     (reason unsupported_country) for country XX;
//   - order.cancelled when a shipment was created → shipment.cancelled;
//     before one was created → the order is never shipped.
package shipping
