CREATE TABLE analytics_orders (
    order_id   TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    currency   TEXT NOT NULL DEFAULT '',
    items      TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
CREATE TABLE analytics_status_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL CHECK (n >= 0)
);
CREATE TABLE analytics_payments (
    order_id TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('capture', 'refund')),
    PRIMARY KEY (order_id, kind)
);
CREATE TABLE analytics_revenue (
    minute       BIGINT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    PRIMARY KEY (minute, currency)
);
CREATE TABLE analytics_products (
    product_id    TEXT NOT NULL,
    currency      TEXT NOT NULL,
    units         BIGINT NOT NULL,
    revenue_minor BIGINT NOT NULL,
    PRIMARY KEY (product_id, currency)
);
