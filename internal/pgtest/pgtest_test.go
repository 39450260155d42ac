package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"testing"
	"time"

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
	var v string
	deadline := time.Now().Add(20 * time.Second)
	for {
		err = db.QueryRow("select current_setting('listen_addresses')").Scan(&v)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
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
