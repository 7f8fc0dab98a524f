-- SQLite's single writer serialises appends, so a stream's version is
-- MAX(version) over UNIQUE(stream_id, version) and no per-stream row is
-- kept: an append writes only its events (see sqlstore's package doc).
DROP TABLE IF EXISTS event_streams;
