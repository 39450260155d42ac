package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

// openStore opens the store at path for the rest of the test.
func openStore(t *testing.T, path string) store.Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openStore(t, filepath.Join(t.TempDir(), "rigger.db")) })
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "x"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen (migrations must be idempotent): %v", err)
	}
	defer s.Close()
	if ls, err := s.ListLocations(ctx); err != nil || len(ls) != 1 {
		t.Fatalf("after reopen: %v %v", ls, err)
	}
}

func TestMigrateUIDRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	legacy := storetest.Legacy{DB: db, Rebind: func(q string) string { return q }, Migrations: store.Schema("sqlite")}
	storetest.Migration(t, legacy, func(t *testing.T) store.Store { return openStore(t, path) })
}

func TestTaskSecretsPurged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	s := openStore(t, path)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.TaskSecretsPurged(t, s, db, func(q string) string { return q })
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.NewerSchemaRefused(t, db, func(q string) string { return q }, func() (store.Store, error) { return Open(context.Background(), path) })
}
