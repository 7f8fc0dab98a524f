CREATE TABLE consumer_processed (
  group_name   TEXT   NOT NULL,
  event_id     TEXT   NOT NULL,
  processed_at BIGINT NOT NULL,
  PRIMARY KEY (group_name, event_id)
);
CREATE TABLE consumer_parked_keys (
  group_name    TEXT    NOT NULL,
  record_key    TEXT    NOT NULL,
  letter_id     TEXT    NOT NULL,
  topic         TEXT    NOT NULL,
  rec_partition INTEGER NOT NULL,
  rec_offset    BIGINT  NOT NULL,
  error         TEXT    NOT NULL,
  error_kind    TEXT    NOT NULL,
  attempts      INTEGER NOT NULL,
  parked_at     BIGINT  NOT NULL,
  updated_at    BIGINT  NOT NULL,
  PRIMARY KEY (group_name, record_key)
);
CREATE TABLE consumer_parked_records (
  id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  group_name    TEXT    NOT NULL,
  record_key    TEXT    NOT NULL,
  topic         TEXT    NOT NULL,
  rec_partition INTEGER NOT NULL,
  rec_offset    BIGINT  NOT NULL,
  value         BYTEA,
  headers       TEXT    NOT NULL,
  record_ts     BIGINT  NOT NULL,
  parked_at     BIGINT  NOT NULL,
  UNIQUE (group_name, topic, rec_partition, rec_offset)
);
CREATE INDEX consumer_parked_records_key ON consumer_parked_records (group_name, record_key, id);
