-- The transactional outbox. One row is one Kafka record waiting to be
-- published. Identity values are taken at insert time, so rows may become
-- visible out of id order; the relay copes (see outbox/doc.go).
CREATE TABLE outbox (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	topic      TEXT        NOT NULL,
	key        TEXT        NOT NULL,
	value      BYTEA,
	headers    JSONB,                 -- array of {"key","value"}; NULL when none
	created_at TIMESTAMPTZ NOT NULL
);
