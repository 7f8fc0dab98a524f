-- SQLite: the correlation index leaves the append path. events_correlation
-- was a fourth B-tree written by every event (one more WAL page a commit,
-- on a store whose commits are dominated by their page writes). It becomes
-- event_correlations, filled in batches by the appends themselves (every
-- ~256 events, in the appending transaction, see sqlstore's package doc)
-- up to the position in event_correlations_indexed; ReadCorrelation reads
-- it up to that position and scans the (short) rest of the log after it.
CREATE TABLE event_correlations (
	correlation_id TEXT    NOT NULL,
	position       INTEGER NOT NULL,
	PRIMARY KEY (correlation_id, position)
) WITHOUT ROWID;
-- One row: every event up to position is in event_correlations.
CREATE TABLE event_correlations_indexed (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	position INTEGER NOT NULL
);
INSERT INTO event_correlations (correlation_id, position) SELECT correlation_id, position FROM events;
INSERT INTO event_correlations_indexed (id, position) SELECT 1, COALESCE(MAX(position), 0) FROM events;
DROP INDEX events_correlation;
