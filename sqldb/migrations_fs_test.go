package sqldb_test

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/causeway-dev/causeway/sqldb"
)

func TestMigrationsFS(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    int
		wantErr string
	}{
		{"both dialects and shared", fstest.MapFS{
			"0001_a.sqlite.sql":   {Data: []byte("S1")},
			"0001_a.postgres.sql": {Data: []byte("P1")},
			"0002_b.sql":          {Data: []byte("B2")},
			"README":              {Data: []byte("ignored")},
		}, 2, ""},
		{"hole", fstest.MapFS{"0001_a.sql": {Data: []byte("x")}, "0003_c.sql": {Data: []byte("y")}}, 0, "version 2 missing"},
		{"one dialect only", fstest.MapFS{"0001_a.sqlite.sql": {Data: []byte("x")}}, 0, "lacks SQL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := sqldb.MigrationsFS(tt.files, "c")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ms); got != tt.want {
				t.Fatalf("migrations = %d, want %d", got, tt.want)
			}
			if ms[0].SQLite != "S1" || ms[0].Postgres != "P1" || ms[1].SQLite != "B2" || ms[1].Postgres != "B2" || ms[1].Version != 2 || ms[0].Component != "c" {
				t.Fatalf("migrations = %+v", ms)
			}
		})
	}
}
