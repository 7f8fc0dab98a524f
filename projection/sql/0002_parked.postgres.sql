CREATE TABLE projection_parked (
  projection TEXT    NOT NULL,
  topic      TEXT    NOT NULL,
  part       BIGINT NOT NULL,
  rec_offset BIGINT NOT NULL,
  rec_key    BYTEA   NOT NULL,
  value      BYTEA   NOT NULL,
  rec_time   BIGINT NOT NULL,
  event_id   TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  parked_at  BIGINT NOT NULL,
  PRIMARY KEY (projection, topic, part, rec_offset)
);
CREATE INDEX projection_parked_key ON projection_parked (projection, topic, rec_key);
