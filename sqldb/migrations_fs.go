package sqldb

import (
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
)

// migrationFile matches NNNN_name.sqlite.sql, NNNN_name.postgres.sql and
// NNNN_name.sql (the same SQL for both dialects).
var migrationFile = regexp.MustCompile(`^(\d{4})_[A-Za-z0-9_-]+(\.sqlite|\.postgres)?\.sql$`)

// MigrationsFS reads a component's migrations from the top level of fsys
// (normally an embed.FS narrowed with fs.Sub). Files are named
// NNNN_name.sqlite.sql and NNNN_name.postgres.sql, or NNNN_name.sql when
// both dialects share the SQL; NNNN is the version. Every version needs SQL
// for both dialects, and versions must run 1, 2, 3, … without holes.
func MigrationsFS(fsys fs.FS, component string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqldb: %s migrations: %w", component, err)
	}
	byVersion := map[int]*Migration{}
	for _, e := range entries {
		m := migrationFile.FindStringSubmatch(e.Name())
		if e.IsDir() || m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqldb: %s migration %s: %w", component, e.Name(), err)
		}
		mig := byVersion[v]
		if mig == nil {
			mig = &Migration{Component: component, Version: v}
			byVersion[v] = mig
		}
		switch m[2] {
		case ".sqlite":
			mig.SQLite = string(b)
		case ".postgres":
			mig.Postgres = string(b)
		default:
			mig.SQLite, mig.Postgres = string(b), string(b)
		}
	}
	out := make([]Migration, 0, len(byVersion))
	for _, m := range byVersion {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("sqldb: %s migrations: version %d missing", component, i+1)
		}
		if m.SQLite == "" || m.Postgres == "" {
			return nil, fmt.Errorf("sqldb: %s migration %d lacks SQL for a dialect", component, m.Version)
		}
	}
	return out, nil
}

// MustMigrationsFS is MigrationsFS for embedded files, where a bad set is a
// build bug: it panics instead of returning an error. Packages call it from
// their Migrations function.
func MustMigrationsFS(fsys fs.FS, dir, component string) []Migration {
	sub, err := fs.Sub(fsys, dir)
	if err == nil {
		var ms []Migration
		if ms, err = MigrationsFS(sub, component); err == nil {
			return ms
		}
	}
	panic(fmt.Sprintf("sqldb: embedded migrations of %s: %v", component, err))
}
