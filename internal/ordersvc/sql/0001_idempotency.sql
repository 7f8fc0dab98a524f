CREATE TABLE order_idempotency (
    idem_key     TEXT PRIMARY KEY,
    request_hash TEXT NOT NULL,
    order_id     TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
