-- Nothing changes on PostgreSQL: event_streams is the row appenders of one
-- stream serialise on (see sqlstore's package doc). Version 2 drops it on
-- SQLite only.
SELECT 1;
