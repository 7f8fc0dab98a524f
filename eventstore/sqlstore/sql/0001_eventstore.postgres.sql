-- The event store. Times are Unix microseconds (BIGINT) on both databases.
-- events: the global log. position is dense and assigned in commit order
-- from event_positions (see sqlstore's package doc).
CREATE TABLE events (
	position       BIGINT  PRIMARY KEY,
	stream_id      TEXT    NOT NULL,
	version        BIGINT  NOT NULL,
	event_id       TEXT    NOT NULL UNIQUE,
	event_type     TEXT    NOT NULL,
	event_version  INTEGER NOT NULL,
	timestamp_us   BIGINT  NOT NULL,
	data           TEXT    NOT NULL,  -- the envelope's JSON data, byte for byte
	correlation_id TEXT    NOT NULL,
	causation_id   TEXT    NOT NULL,
	source         TEXT    NOT NULL,
	recorded_at_us BIGINT  NOT NULL,
	UNIQUE (stream_id, version)       -- also serves Load and LoadAt
);
-- Trace queries: every event of one flow, in log order.
CREATE INDEX events_correlation ON events (correlation_id, position);
-- One row per stream with its current version: the row appenders of one
-- stream serialise on, and where version conflicts are detected.
CREATE TABLE event_streams (
	stream_id TEXT   PRIMARY KEY,
	version   BIGINT NOT NULL
);
-- The last assigned global position (one row). Updating it is the lock that
-- makes positions commit in order; a rollback gives the positions back.
CREATE TABLE event_positions (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	position BIGINT  NOT NULL
) WITH (fillfactor = 10);
INSERT INTO event_positions (id, position) VALUES (1, 0);
CREATE TABLE event_snapshots (
	stream_id     TEXT   PRIMARY KEY,
	version       BIGINT NOT NULL,
	type          TEXT   NOT NULL,
	data          BYTEA  NOT NULL,
	created_at_us BIGINT NOT NULL
);
