package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// Legacy is a database for Migration to fill at an old schema version.
type Legacy struct {
	DB *sql.DB
	// Rebind is the dialect's placeholder rewriting.
	Rebind func(string) string
	// Migrations are all of the dialect's migrations.
	Migrations []string
}

// uidVersion is the last schema version whose search and relations rows
// name their entity by uid.
const uidVersion = 4

// Migration migrates the legacy database to uidVersion, writes seed() into
// it in that version's layout (plain SQL, as the store wrote it then),
// closes it, and checks that open — the same database with every migration
// — finds the entities, filters, relations and paging as a store loaded
// today would, and that writes after the migration work (new entities get
// ids of their own).
func Migration(t *testing.T, legacy Legacy, open Opener) {
	ctx := context.Background()
	if _, err := store.Open(ctx, legacy.DB, store.Dialect{Name: "legacy", Rebind: legacy.Rebind,
		Migrations: legacy.Migrations[:uidVersion], SerializeWrites: true}); err != nil {
		t.Fatalf("migrate to version %d: %v", uidVersion, err)
	}
	loc := writeUIDRows(t, legacy)
	if err := legacy.DB.Close(); err != nil {
		t.Fatal(err)
	}

	s := open(t)
	for i, e := range seed() {
		got, err := s.EntityByUID(ctx, legacyUID(i))
		if err != nil || got.Ref != e.Ref || got.ETag != store.ServedETag(e.Hash, got.Relations) || len(got.Relations) == 0 {
			t.Fatalf("entity %s after migrating: %+v, %v", e.Ref, got, err)
		}
	}
	t.Run("Search", func(t *testing.T) {
		// The index is built from the migrated entities when the store opens.
		p, err := s.Search(ctx, store.SearchQuery{Term: "svc", Types: []string{store.SearchTypeCatalog}, Limit: 10})
		if err != nil || p.Total != 3 {
			t.Fatalf("search after migrating: %+v, %v", p, err)
		}
	})
	t.Run("Filters", func(t *testing.T) { checkFilters(t, s) })
	t.Run("Paging", func(t *testing.T) { checkPaging(t, s) })
	t.Run("ReadPaths", func(t *testing.T) { checkReads(t, s, loc) })
	t.Run("WritePath", func(t *testing.T) { checkWrites(t, s, loc) })
}

func legacyUID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// writeUIDRows writes a location holding seed() in the layout of
// uidVersion.
func writeUIDRows(t *testing.T, legacy Legacy) store.Location {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Format(time.RFC3339Nano)
	loc := store.Location{ID: "legacy-location", Type: "file", Target: "/a.yaml"}
	tx, err := legacy.DB.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := tx.ExecContext(ctx, legacy.Rebind(query), args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	exec(`INSERT INTO locations (id, type, target, static, created_at) VALUES (?, ?, ?, 0, ?)`, loc.ID, loc.Type, loc.Target, now)
	for i, e := range seed() {
		uid := legacyUID(i)
		kind, rest, _ := strings.Cut(e.Ref, ":")
		ns, name, _ := strings.Cut(rest, "/")
		exec(`INSERT INTO entities (uid, ref, kind, namespace, name, location_id, body, hash, orphan, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`, uid, e.Ref, kind, ns, name, loc.ID, string(e.Body), e.Hash, now, now)
		for _, row := range e.Search {
			var original any = row.Original
			if row.Original == row.Value {
				original = nil
			}
			exec(`INSERT INTO search (entity_uid, key, value, original) VALUES (?, ?, ?, ?)`, uid, row.Key, row.Value, original)
		}
		for _, r := range e.Relations {
			exec(`INSERT INTO relations (origin_uid, source_ref, type, type_lower, target_ref, target_lower) VALUES (?, ?, ?, ?, ?, ?)`,
				uid, strings.ToLower(r.Source), r.Type, strings.ToLower(r.Type), r.Target, strings.ToLower(r.Target))
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return loc
}

// NewerSchemaRefused checks that a database migrated by a newer rigger (a
// schema version beyond this binary's migrations) is refused on open with
// a clear message, and left as it was. open opens a store on the database
// db reads.
func NewerSchemaRefused(t *testing.T, db *sql.DB, rebind func(string) string, open func() (store.Store, error)) {
	ctx := context.Background()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := db.ExecContext(ctx, rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), 9999, time.Now().UTC().Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	s, err = open()
	if err == nil {
		s.Close()
		t.Fatal("opened a database whose schema is newer than this binary")
	}
	if want := "database schema version 9999 is newer than this rigger knows"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&n); err != nil || n != 9999 {
		t.Fatalf("schema version after the refusal: %d, %v", n, err)
	}
}
