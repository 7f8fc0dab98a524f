-- The event store. Times are Unix microseconds (INTEGER) on both databases.
-- events: the global log. position is dense and assigned in commit order:
-- the single writer appends MAX(position)+1…; INTEGER PRIMARY KEY makes it
-- the rowid.
CREATE TABLE events (
	position       INTEGER PRIMARY KEY,
	stream_id      TEXT    NOT NULL,
	version        INTEGER NOT NULL,
	event_id       TEXT    NOT NULL UNIQUE,
	event_type     TEXT    NOT NULL,
	event_version  INTEGER NOT NULL,
	timestamp_us   INTEGER NOT NULL,
	data           TEXT    NOT NULL,  -- the envelope's JSON data, byte for byte
	correlation_id TEXT    NOT NULL,
	causation_id   TEXT    NOT NULL,
	source         TEXT    NOT NULL,
	recorded_at_us INTEGER NOT NULL,
	UNIQUE (stream_id, version)       -- also serves Load and LoadAt
);
-- Trace queries: every event of one flow, in log order.
CREATE INDEX events_correlation ON events (correlation_id, position);
-- One row per stream with its current version: the row appenders of one
-- stream serialise on, and where version conflicts are detected.
CREATE TABLE event_streams (
	stream_id TEXT    PRIMARY KEY,
	version   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE event_snapshots (
	stream_id     TEXT    PRIMARY KEY,
	version       INTEGER NOT NULL,
	type          TEXT    NOT NULL,
	data          BLOB    NOT NULL,
	created_at_us INTEGER NOT NULL
);
