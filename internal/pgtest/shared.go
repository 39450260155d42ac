package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver DB creates databases with
)

// Shared is one server for a test package: its TestMain calls Main, and
// each test takes an empty database of its own with DB.
type Shared struct {
	server *Server
	skip   string
	seq    atomic.Int64
}

// Main starts the server (none with -short; as the Backstage peer's, with
// StartPeer, when benchmarks are asked for), runs the package's tests and
// stops it. Without PostgreSQL binaries the tests that need it skip loudly,
// except under CI=true, where that fails the run; what names the tests in
// that message.
func (s *Shared) Main(m *testing.M, what string) int {
	if testing.Short() {
		return m.Run() // go test -short starts no server
	}
	start := Start
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		// Benchmarks: figures compared with the Backstage peer's, so on a
		// server set up as its is (fsync on, its buffers and locale).
		start = StartPeer
	}
	srv, err := start(context.Background())
	switch {
	case errors.Is(err, ErrUnavailable) && os.Getenv("CI") == "":
		s.skip = err.Error()
		fmt.Fprintf(os.Stderr, "\n!!! PostgreSQL %s tests SKIPPED: %v !!!\n\n", what, err)
	case err != nil:
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		return 1
	default:
		s.server = srv
		defer srv.Stop()
	}
	return m.Run()
}

// DB creates an empty database named prefix_N (options appended to its
// CREATE DATABASE: a template, a locale) and returns its DSN; without a
// server it skips the test (loudly, unless in -short mode).
func (s *Shared) DB(t testing.TB, prefix string, options ...string) string {
	t.Helper()
	if s.server == nil && testing.Short() {
		t.Skip("starts PostgreSQL; skipped in -short mode")
	}
	if s.server == nil {
		t.Skipf("LOUD SKIP: %s", s.skip)
	}
	admin, err := sql.Open("pgx", s.server.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("%s_%d", prefix, s.seq.Add(1))
	if _, err := admin.Exec(strings.Join(append([]string{"CREATE DATABASE", name}, options...), " ")); err != nil {
		t.Fatal(err)
	}
	return s.server.DSN(name)
}
