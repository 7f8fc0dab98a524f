CREATE TABLE projection_state (
  projection TEXT    NOT NULL PRIMARY KEY,
  generation INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE projection_checkpoints (
  projection  TEXT    NOT NULL,
  topic       TEXT    NOT NULL,
  part        INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (projection, topic, part)
) WITHOUT ROWID;
CREATE TABLE projection_errors (
  projection TEXT    NOT NULL,
  topic      TEXT    NOT NULL,
  part       INTEGER NOT NULL,
  rec_offset INTEGER NOT NULL,
  event_id   TEXT    NOT NULL,
  event_type TEXT    NOT NULL,
  kind       TEXT    NOT NULL,
  action     TEXT    NOT NULL,
  error      TEXT    NOT NULL,
  attempts   INTEGER NOT NULL,
  first_at   INTEGER NOT NULL,
  last_at    INTEGER NOT NULL,
  PRIMARY KEY (projection, topic, part, rec_offset)
);
