CREATE TABLE dlq_audit (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	at_ms        INTEGER NOT NULL,
	operator     TEXT    NOT NULL,
	action       TEXT    NOT NULL,
	letter_id    TEXT    NOT NULL,
	group_name   TEXT    NOT NULL,
	record_key   TEXT    NOT NULL,
	reason       TEXT    NOT NULL,
	dry_run      INTEGER NOT NULL,
	forced       INTEGER NOT NULL,
	replay_count INTEGER NOT NULL,
	job_id       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX dlq_audit_letter ON dlq_audit (letter_id, id);
CREATE INDEX dlq_audit_job ON dlq_audit (job_id, letter_id);
CREATE TABLE dlq_jobs (
	job_id         TEXT    PRIMARY KEY,
	created_ms     INTEGER NOT NULL,
	updated_ms     INTEGER NOT NULL,
	operator       TEXT    NOT NULL,
	reason         TEXT    NOT NULL,
	filter         TEXT    NOT NULL,
	ids            TEXT    NOT NULL,
	rate           REAL    NOT NULL,
	forced         INTEGER NOT NULL,
	last_letter_id TEXT    NOT NULL DEFAULT '',
	replayed       INTEGER NOT NULL DEFAULT 0,
	finished       INTEGER NOT NULL DEFAULT 0
);
