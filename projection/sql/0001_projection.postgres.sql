CREATE TABLE projection_state (
  projection TEXT    NOT NULL PRIMARY KEY,
  generation BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE projection_checkpoints (
  projection  TEXT    NOT NULL,
  topic       TEXT    NOT NULL,
  part        BIGINT NOT NULL,
  next_offset BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL,
  PRIMARY KEY (projection, topic, part)
);
CREATE TABLE projection_errors (
  projection TEXT    NOT NULL,
  topic      TEXT    NOT NULL,
  part       BIGINT NOT NULL,
  rec_offset BIGINT NOT NULL,
  event_id   TEXT    NOT NULL,
  event_type TEXT    NOT NULL,
  kind       TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  error      TEXT    NOT NULL,
  attempts   BIGINT NOT NULL,
  first_at   BIGINT NOT NULL,
  last_at    BIGINT NOT NULL,
  PRIMARY KEY (projection, topic, part, rec_offset)
);
