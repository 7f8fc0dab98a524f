CREATE TABLE email_orders (
    order_id    TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL,
    name        TEXT NOT NULL,
    currency    TEXT NOT NULL,
    total_minor BIGINT NOT NULL,
    lines       TEXT NOT NULL
);
CREATE TABLE email_messages (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    to_addr        TEXT NOT NULL,
    subject        TEXT NOT NULL,
    text_body      TEXT NOT NULL,
    html_body      TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('order_received', 'order_shipped', 'order_cancelled')),
    created_at     BIGINT NOT NULL,
    correlation_id TEXT NOT NULL,
    causation_id   TEXT NOT NULL,
    send_status    TEXT NOT NULL CHECK (send_status IN ('not_sent', 'pending', 'sent', 'failed')),
    sent_at        BIGINT,
    send_error     TEXT NOT NULL DEFAULT '',
    UNIQUE (order_id, kind)
);
CREATE INDEX email_messages_created ON email_messages (created_at, id);
CREATE INDEX email_messages_user ON email_messages (user_id, created_at, id);
CREATE TABLE email_unsent (
    mail_id    TEXT PRIMARY KEY REFERENCES email_messages (id),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_at    BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX email_unsent_next ON email_unsent (next_at);
