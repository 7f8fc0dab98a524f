-- Nothing changes on PostgreSQL: an append is one statement there and the
-- correlation index stays on events. Version 3 moves it off the append
-- path on SQLite only.
SELECT 1;
