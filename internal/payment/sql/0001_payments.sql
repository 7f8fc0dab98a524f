CREATE TABLE payments (
    order_id     TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    payment_id   TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    method       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('captured', 'failed', 'refunded')),
    fail_reason  TEXT NOT NULL DEFAULT '',
    refund_cause TEXT NOT NULL DEFAULT '',
    updated_at   BIGINT NOT NULL
);
CREATE TABLE payment_ledger (
    order_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('capture', 'refund')),
    amount_minor BIGINT NOT NULL CHECK (amount_minor >= 0),
    currency     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (order_id, kind)
);
