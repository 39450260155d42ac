package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelationKeyPlans: a relations.<type> access probe with targets is
// one seek of relations_type_target per target (type, target and the
// row's ref: every column of the index), and a full text over any value
// reads the entity's search rows by rowid range and its relations by
// source — never a scan of either table.
func TestRelationKeyPlans(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	for name, c := range map[string]struct {
		build func(q *sqlBuilder)
		want  []string
	}{
		"probe": {func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE ")
			probe(q, Cond{Key: "relations.ownedBy", Values: []string{"group:default/a", "group:default/b"}})
		}, []string{"USING COVERING INDEX relations_type_target (type_lower=? AND target_lower=? AND source_ref=?)"}},
		"probe, any target": {func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE NOT ")
			probe(q, Cond{Key: "relations.ownedBy"})
		}, []string{"USING INDEX relations_source (source_ref=?)"}},
		"full text in a relation field, row": {func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE ")
			fullTextCond(q, "svc", []string{"relations.ownedBy", "relations.partOf"}, true)
		}, []string{"USING INDEX relations_source (source_ref=?)"}},
		"order": {func(q *sqlBuilder) { q.add("SELECT e.id FROM entities e ORDER BY "); sortExpr(q, "relations.ownedBy") }, []string{"USING INDEX relations_source (source_ref=?)"}},
		"full text": {func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE ")
			fullTextCond(q, "svc", nil, false)
		}, []string{"SEARCH s USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)", "USING INDEX relations_source (source_ref=?)"}},
	} {
		q := s.builder()
		c.build(&q)
		all := queryPlan(t, s, name, q)
		for _, w := range c.want {
			if !strings.Contains(all, w) || strings.Contains(all, "SCAN s") || strings.Contains(all, "SCAN r") {
				t.Errorf("%s: want %q in the plan, and no scan of search or relations:\n%s\n%s", name, w, q.b.String(), all)
			}
		}
	}
}

// TestOldRelationSearchRowsAreHarmless: relations.* search rows a
// previous release wrote stay (a server of that release may still read
// them during a rolling upgrade) and change no answer: facets, counts and
// full text read the entity's relations, which the old rows only repeat.
func TestOldRelationSearchRowsAreHarmless(t *testing.T) {
	ctx := context.Background()
	s, loc := storeWithLocation(t)
	svc := Entity{Ref: "component:default/svc", Body: []byte(`{"kind":"Component","metadata":{"name":"svc"}}`), Hash: "h",
		Search:    []SearchRow{{Key: "kind", Value: "component", Original: "Component"}, {Key: "relations.ownedby", Value: "group:default/team-a"}},
		Relations: []Relation{{Source: "component:default/svc", Type: "ownedBy", Target: "group:default/team-a"}, {Source: "group:default/team-a", Type: "ownerOf", Target: "component:default/svc"}}}
	if _, err := s.ReplaceLocation(ctx, loc.ID, []Entity{svc}, ReplaceOptions{Orphans: OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM search WHERE key LIKE 'relations.%'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("relations.* search rows written: %d (%v)", n, err)
	}
	// The row a previous release wrote beside the entity's kind row.
	if _, err := s.db.ExecContext(ctx, "INSERT INTO search (id, entity_id, key, value) SELECT MAX(id) + 1, entity_id, 'relations.ownedby', 'group:default/team-a' FROM search"); err != nil {
		t.Fatal(err)
	}
	f, err := s.Facets(ctx, nil, []string{"relations.ownedBy"})
	if err != nil || fmt.Sprint(f["relations.ownedBy"]) != "[{group:default/team-a 1}]" {
		t.Errorf("facet with an old row: %v (%v)", f, err)
	}
	for _, qu := range []Query{{FullText: "team-a"}, {FullText: "team-a", FullTextFields: []string{"relations.ownedBy"}}, {Filter: Filter{{{Key: "relations.ownedBy", Values: []string{"group:default/team-a"}}}}}} {
		qu.Limit = 10
		p, err := s.Query(ctx, qu)
		if err != nil || p.TotalItems != 1 || len(p.Entities) != 1 {
			t.Errorf("%+v with an old row: %d of %d (%v)", qu, len(p.Entities), p.TotalItems, err)
		}
	}
}

// TestOldColumnKeySearchRowsAreHarmless: metadata.namespace and
// metadata.uid rows are no longer written (their columns answer), and
// those a previous release wrote change no answer: facets read the
// columns, and a full text reads the same namespace from its column.
func TestOldColumnKeySearchRowsAreHarmless(t *testing.T) {
	ctx := context.Background()
	s, loc := storeWithLocation(t)
	svc := Entity{Ref: "component:default/svc", Body: []byte(`{"kind":"Component","metadata":{"name":"svc","namespace":"default"}}`), Hash: "h",
		Search: []SearchRow{{Key: "kind", Value: "component", Original: "Component"}, {Key: "metadata.name", Value: "svc"},
			{Key: "metadata.namespace", Value: "default"}, {Key: "metadata.uid"}}}
	if _, err := s.ReplaceLocation(ctx, loc.ID, []Entity{svc}, ReplaceOptions{Orphans: OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM search WHERE key IN ('metadata.namespace', 'metadata.uid')").Scan(&n); err != nil || n != 0 {
		t.Fatalf("namespace or uid search rows written: %d (%v)", n, err)
	}
	stored, err := s.EntityByRef(ctx, svc.Ref)
	if err != nil {
		t.Fatal(err)
	}
	// The rows a previous release wrote beside the entity's name row.
	if _, err := s.db.ExecContext(ctx, "INSERT INTO search (id, entity_id, key, value) SELECT MAX(id) + 1, entity_id, 'metadata.namespace', 'default' FROM search"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.ExecContext(ctx, "INSERT INTO search (id, entity_id, key, value) SELECT MAX(id) + 1, entity_id, 'metadata.uid', '' FROM search"); err != nil {
		t.Fatal(err)
	}
	f, err := s.Facets(ctx, nil, []string{"metadata.namespace", "metadata.uid"})
	if err != nil || fmt.Sprint(f["metadata.namespace"]) != "[{default 1}]" || fmt.Sprint(f["metadata.uid"]) != "[{"+stored.UID+" 1}]" {
		t.Errorf("facets with old rows: %v (%v), want one default and uid %s", f, err, stored.UID)
	}
	for _, qu := range []Query{{FullText: "defa"}, {FullText: "defa", FullTextFields: []string{"metadata.namespace"}}, {Filter: Filter{{{Key: "metadata.namespace", Values: []string{"default"}}}}}} {
		qu.Limit = 10
		p, err := s.Query(ctx, qu)
		if err != nil || p.TotalItems != 1 || len(p.Entities) != 1 {
			t.Errorf("%+v with old rows: %d of %d (%v)", qu, len(p.Entities), p.TotalItems, err)
		}
	}
}

// storeWithLocation opens a SQLite store for the test, with one location.
func storeWithLocation(t *testing.T) (*SQL, Location) {
	t.Helper()
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	t.Cleanup(func() { s.Close() })
	loc, err := s.AddLocation(context.Background(), Location{Type: "file", Target: "/a.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return s, loc
}
