-- The transactional outbox. One row is one Kafka record waiting to be
-- published. AUTOINCREMENT keeps ids strictly increasing even after the
-- table has been emptied; SQLite has one writer, so id order is commit order.
CREATE TABLE outbox (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	topic      TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	value      BLOB,
	headers    TEXT,             -- JSON array of {"key","value"}; NULL when none
	created_at INTEGER NOT NULL  -- Unix time in microseconds
);
