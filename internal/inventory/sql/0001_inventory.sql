CREATE TABLE inventory_stock (
    product_id TEXT PRIMARY KEY,
    initial    BIGINT NOT NULL CHECK (initial >= 0),
    available  BIGINT NOT NULL CHECK (available >= 0),
    reserved   BIGINT NOT NULL CHECK (reserved >= 0)
);
CREATE TABLE inventory_orders (
    order_id       TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL DEFAULT '',
    items          TEXT,
    paid_event     TEXT NOT NULL DEFAULT '',
    paid_corr      TEXT NOT NULL DEFAULT '',
    undo_event     TEXT NOT NULL DEFAULT '',
    undo_corr      TEXT NOT NULL DEFAULT '',
    undo_cause     TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('pending', 'reserved', 'failed', 'released', 'cancelled')),
    updated_at     BIGINT NOT NULL
);
