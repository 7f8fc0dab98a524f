package sqlstore

// SQLiteReadCorrelation is ReadCorrelation's statement on SQLite, for the
// query-plan test.
const SQLiteReadCorrelation = sqliteReadCorr
