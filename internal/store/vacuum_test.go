package store

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // a real database for the failing statement
)

// TestVacuumFailureReportedOnce: a vacuum run after a large batch that
// fails is logged (through slog.Default, with its statement and error)
// the first time only; later failures are not repeated.
func TestVacuumFailureReportedOnce(t *testing.T) {
	const stmt = "VACUUM no_such_schema"
	s, _, buf := vacuumStore(t, Dialect{Name: "sqlite", Vacuum: stmt})
	for range 2 {
		s.wrote(analyzeAfter)
		s.WaitMaintenance()
	}
	out := buf.String()
	if n := strings.Count(out, "the vacuum after a large batch failed"); n != 1 {
		t.Fatalf("two failed vacuum runs logged %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{"level=WARN", stmt, "no_such_schema"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

// TestVacuumRunsWhenReadinessFails: a failing Dialect.VacuumReady question
// is reported, and the vacuum runs all the same (without the wait).
func TestVacuumRunsWhenReadinessFails(t *testing.T) {
	const ready = "SELECT no_such_column"
	s, db, buf := vacuumStore(t, Dialect{Name: "sqlite", Rebind: func(q string) string { return q }, Vacuum: "CREATE TABLE vacuum_ran (x)", VacuumReady: ready})
	s.wrote(analyzeAfter)
	s.WaitMaintenance()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'vacuum_ran'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the vacuum did not run after its readiness question failed (%d, %v)", n, err)
	}
	if out := buf.String(); !strings.Contains(out, ready) || !strings.Contains(out, "no_such_column") {
		t.Fatalf("the failed readiness question was not reported:\n%s", out)
	}
}

// vacuumStore is a store of d on a SQLite file, with only what its vacuum
// runs need, and the buffer slog.Default writes to until the test ends.
func vacuumStore(t *testing.T, d Dialect) (*SQL, *sql.DB, *bytes.Buffer) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	s := &SQL{db: db, d: d}
	s.vacuum.ctx, s.vacuum.cancel = context.WithCancel(context.Background())
	t.Cleanup(func() {
		s.vacuum.cancel()
		s.WaitMaintenance()
		slog.SetDefault(old)
		db.Close()
	})
	return s, db, &buf
}
