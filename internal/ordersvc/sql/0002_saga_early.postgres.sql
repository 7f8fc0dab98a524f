-- Saga events that reached the order service before the step they follow
-- (they travel on other topics), held until that step is handled (early.go).
CREATE TABLE order_saga_early (
    order_id    TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    value       BYTEA   NOT NULL,
    received_ms BIGINT  NOT NULL,
    PRIMARY KEY (order_id, event_id)
);
CREATE INDEX order_saga_early_received ON order_saga_early (received_ms);
