CREATE TABLE projection_parked (
  projection TEXT    NOT NULL,
  topic      TEXT    NOT NULL,
  part       INTEGER NOT NULL,
  rec_offset INTEGER NOT NULL,
  rec_key    BLOB    NOT NULL,
  value      BLOB    NOT NULL,
  rec_time   INTEGER NOT NULL,
  event_id   TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  parked_at  INTEGER NOT NULL,
  PRIMARY KEY (projection, topic, part, rec_offset)
);
CREATE INDEX projection_parked_key ON projection_parked (projection, topic, rec_key);
