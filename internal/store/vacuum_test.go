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
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	defer slog.SetDefault(old)

	const stmt = "VACUUM no_such_schema"
	s := &SQL{db: db, d: Dialect{Name: "sqlite", Vacuum: stmt}}
	s.vacuum.ctx, s.vacuum.cancel = context.WithCancel(context.Background())
	defer s.vacuum.cancel()
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
