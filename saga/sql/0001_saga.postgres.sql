-- PostgreSQL version of 0001_saga.sqlite.sql (BIGINT times and counters).
-- Saga instances: one row per saga, updated with optimistic concurrency
-- (version). Times are Unix microseconds. deadline is NULL when the saga
-- waits for nothing (terminal, or a step without timeout).
CREATE TABLE saga_instances (
	id             TEXT    PRIMARY KEY,
	definition     TEXT    NOT NULL,
	correlation_id TEXT    NOT NULL,
	status         TEXT    NOT NULL,
	step           BIGINT  NOT NULL,
	attempt        BIGINT  NOT NULL,
	command_id     TEXT    NOT NULL,  -- the last command sent ('' when none)
	data           TEXT    NOT NULL,  -- JSON owned by the definition
	deadline       BIGINT,
	reason         TEXT    NOT NULL,
	version        BIGINT  NOT NULL,
	created_at     BIGINT  NOT NULL,
	updated_at     BIGINT  NOT NULL
);
CREATE INDEX saga_instances_deadline ON saga_instances (deadline) WHERE deadline IS NOT NULL;
CREATE INDEX saga_instances_status ON saga_instances (status, created_at);
-- Every command sent: a reply names its command (causationId) and is
-- correlated through this table.
CREATE TABLE saga_commands (
	command_id TEXT    PRIMARY KEY,
	saga_id    TEXT    NOT NULL,
	step       BIGINT  NOT NULL,
	phase      TEXT    NOT NULL,  -- 'action' or 'compensation'
	attempt    BIGINT  NOT NULL,
	created_at BIGINT  NOT NULL
);
-- The step history of every saga, in order of id.
CREATE TABLE saga_history (
	id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	saga_id    TEXT    NOT NULL,
	at         BIGINT  NOT NULL,
	step       BIGINT  NOT NULL,
	step_name  TEXT    NOT NULL,
	phase      TEXT    NOT NULL,
	event      TEXT    NOT NULL,
	command_id TEXT    NOT NULL,
	reason     TEXT    NOT NULL
);
CREATE INDEX saga_history_saga ON saga_history (saga_id, id);
