-- The ledger records the authorisation hold before the capture: a charge is
-- authorize + capture (one row each), a refund one more row. The table is
-- rebuilt because SQLite cannot change a CHECK constraint in place.
CREATE TABLE payment_ledger_v2 (
    order_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('authorize', 'capture', 'refund')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (order_id, kind)
);
INSERT INTO payment_ledger_v2 (order_id, kind, amount_minor, currency, event_id, created_at)
    SELECT order_id, kind, amount_minor, currency, event_id, created_at FROM payment_ledger;
INSERT INTO payment_ledger_v2 (order_id, kind, amount_minor, currency, event_id, created_at)
    SELECT order_id, 'authorize', amount_minor, currency, event_id, created_at FROM payment_ledger WHERE kind = 'capture';
DROP TABLE payment_ledger;
ALTER TABLE payment_ledger_v2 RENAME TO payment_ledger;
