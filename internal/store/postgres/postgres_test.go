package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/riggerdev/rigger/internal/pgtest"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

var (
	server  *pgtest.Server
	skipWhy string
	dbSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	s, err := pgtest.Start(context.Background())
	switch {
	case errors.Is(err, pgtest.ErrUnavailable) && os.Getenv("CI") == "":
		skipWhy = err.Error()
		fmt.Fprintf(os.Stderr, "\n!!! PostgreSQL store tests SKIPPED: %v !!!\n\n", err)
	case err != nil:
		fmt.Fprintln(os.Stderr, "start postgres:", err)
		return 1
	default:
		server = s
		defer s.Stop()
	}
	return m.Run()
}

// freshDB creates an empty database for one test.
func freshDB(t *testing.T) string {
	t.Helper()
	if server == nil {
		t.Skipf("LOUD SKIP: %s", skipWhy)
	}
	admin, err := sql.Open("pgx", server.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("rigger_%d", dbSeq.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	return server.DSN(name)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), freshDB(t), 4)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := freshDB(t)
	for range 2 {
		s, err := Open(context.Background(), dsn, 2)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

func TestRebind(t *testing.T) {
	if got := rebind("a = ? AND b IN (?,?)"); got != "a = $1 AND b IN ($2,$3)" {
		t.Fatal(got)
	}
}
