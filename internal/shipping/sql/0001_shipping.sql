CREATE TABLE shipping_orders (
    order_id        TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL DEFAULT '',
    country         TEXT NOT NULL DEFAULT '',
    reserved_event  TEXT NOT NULL DEFAULT '',
    reserved_corr   TEXT NOT NULL DEFAULT '',
    undo_event      TEXT NOT NULL DEFAULT '',
    undo_corr       TEXT NOT NULL DEFAULT '',
    undo_cause      TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'created', 'failed', 'cancelled')),
    shipment_id     TEXT NOT NULL DEFAULT '',
    carrier         TEXT NOT NULL DEFAULT '',
    tracking_number TEXT NOT NULL DEFAULT '',
    updated_at      BIGINT NOT NULL
);
