package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
)

func TestStartQueryStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	s, err := Start(context.Background())
	if errors.Is(err, ErrUnavailable) && os.Getenv("CI") == "" {
		t.Skipf("LOUD SKIP: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	db, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Start returns a server that accepts queries: no retry here.
	var v string
	if err := db.QueryRow("select current_setting('listen_addresses')").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != "127.0.0.1" {
		t.Fatalf("listen_addresses = %q, want 127.0.0.1 only", v)
	}
	var super bool
	if err := db.QueryRow("select rolsuper from pg_roles where rolname = current_user").Scan(&super); err != nil || !super {
		t.Fatalf("current user is not the cluster superuser: %v", err)
	}
}

// TestReadyNeedsOwnServer: a port taken between picking and binding makes
// postgres exit; Start must not mistake the other listener for its server.
func TestReadyNeedsOwnServer(t *testing.T) {
	data := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if ready(data, port) {
		t.Fatal("ready without a postmaster.pid, only someone else's listener")
	}
	pid := "1\n" + data + "\n0\n" + strconv.Itoa(port) + "\n/tmp\n127.0.0.1\n0 0\n"
	if err := os.WriteFile(data+"/postmaster.pid", []byte(pid+"starting\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ready(data, port) {
		t.Fatal("ready while starting")
	}
	if err := os.WriteFile(data+"/postmaster.pid", []byte(pid+"ready   \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !ready(data, port) {
		t.Fatal("not ready once postmaster.pid says ready")
	}
	if ready(data, port+1) {
		t.Fatal("ready for a port the server does not listen on")
	}
}
