package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoSearchIndexBuild: a store of a build made with -tags
// benchnosearchindex (the benchmark's, searchIndexOffInThisBuild) writes
// no search index, marks the index of the database it opens for a
// rebuild, so the next release build that opens it rebuilds what it left
// out, and refuses `rigger search reindex`.
func TestNoSearchIndexBuild(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rigger.db")
	open := func() *SQL { return openSQLite(t, path) }
	found := func(s *SQL) int {
		t.Helper()
		p, err := s.Search(ctx, SearchQuery{Term: "payments", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}
	write := func(s *SQL, name string) {
		t.Helper()
		loc, err := s.AddLocation(ctx, Location{Type: "file", Target: "/" + name + ".yaml"})
		if err != nil {
			t.Fatal(err)
		}
		body := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"` + name + `","namespace":"default"},"spec":{"owner":"team-a"}}`
		e := Entity{Ref: "component:default/" + name, Body: []byte(body), Hash: name,
			Search: []SearchRow{{Key: "kind", Value: "component", Original: "Component"}, {Key: "metadata.name", Value: name}}}
		if _, err := s.ReplaceLocation(ctx, loc.ID, []Entity{e}, ReplaceOptions{Orphans: OrphanDelete}); err != nil {
			t.Fatal(err)
		}
	}

	// A release build indexes; its index is current.
	s := open()
	write(s, "payments-api")
	if n := found(s); n != 1 {
		t.Fatalf("release build: %d results, want 1", n)
	}
	s.Close()

	searchIndexOffInThisBuild = true
	t.Cleanup(func() { searchIndexOffInThisBuild = false })
	s = open()
	write(s, "payments-ui")
	if n := found(s); n != 1 {
		t.Fatalf("no-index build: %d results, want only the release build's 1", n)
	}
	var marks int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_state WHERE key = 'needs_reindex'`).Scan(&marks); err != nil || marks != 1 {
		t.Fatalf("needs_reindex marks: %d (%v), want 1", marks, err)
	}
	if err := s.ReindexSearch(ctx, nil); err == nil || !strings.Contains(err.Error(), "benchnosearchindex") {
		t.Fatalf("reindex in a no-index build: %v, want a refusal naming the build", err)
	}
	s.Close()

	// The next release build rebuilds the index when it opens.
	searchIndexOffInThisBuild = false
	s = open()
	defer s.Close()
	if n := found(s); n != 2 {
		t.Fatalf("release build after the no-index one: %d results, want 2", n)
	}
}
