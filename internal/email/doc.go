// Package email is the email service: it renders a mail for each step of an
// order the customer should hear about into a stored mailbox (consumer group
// email-service, topic orders) and, when an SMTP server is configured, sends
// every stored mail over SMTP.
//
// Which mails (one per order and kind, ever):
//
//   - order.placed    → KindReceived: "we received your order", with the
//     lines and the total;
//   - order.shipped   → KindShipped: the carrier and the tracking number;
//   - order.cancelled → KindCancelled: the reason in plain words and what
//     happens to the money.
//
// order.paid and order.reserved are internal steps and send nothing. All
// order events are on topic orders keyed by userId, so one order's events
// arrive in order: order.placed is always handled before the mails that
// need its lines and total. The service stores what it needs of
// order.placed (email_orders) for those later mails.
//
// Recipient: the platform has no user directory, so a mail goes to the
// derived address <userId>@example.test (Address); example.test is a
// reserved domain (RFC 2606) that never reaches a real inbox.
//
// Exactly once per (order, kind): the consumer runtime deduplicates by
// eventId in the handler's transaction, and email_messages has a unique
// (order_id, kind) with an id derived from the pair (MessageID), so even a
// second event of the same kind with another eventId stores no second
// mail.
//
// Sending (Sender) is at least once, after the commit: with sending on
// (WithSending), the handler also inserts the mail into email_unsent in the
// same transaction; the Sender claims due rows, delivers them over SMTP and
// only once the server accepted the message (250 after DATA) deletes the
// row and marks the mail sent. A crash between the server's 250 and that
// update sends the mail again. Transient failures (network, 4xx) are
// retried with exponential backoff; a permanent rejection (5xx) or running
// out of attempts marks the mail failed. Mails stored while sending was off
// are never sent.
//
// Layout: mail.go and render.go are pure (composition and the embedded
// text/template and html/template templates), handler.go is the consumer,
// store.go the tables and queries, sender.go and smtp.go the delivery.
package email
