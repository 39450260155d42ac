// Package storetest is the conformance suite every store.Store
// implementation must pass; the sqlite and postgres packages run it against
// real databases. Only test code imports it.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Opener returns a fresh, empty store for one test.
type Opener func(t *testing.T) store.Store

// ent builds a store row the way the catalog does: lower-cased ref, search
// rows for kind/name/namespace/spec/tags, relations in both directions
// (and no relations.* search row: store.StoredSearchKey).
func ent(kind, name string, spec map[string]string, tags ...string) store.Entity {
	ref := strings.ToLower(kind + ":default/" + name)
	body, _ := json.Marshal(map[string]any{"apiVersion": "backstage.io/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": "default", "tags": tags}, "spec": spec})
	e := store.Entity{Ref: ref, Body: body, Hash: fmt.Sprintf("%x", body)}
	row := func(k, v string) {
		e.Search = append(e.Search, store.SearchRow{Key: k, Value: strings.ToLower(v), Original: v})
	}
	row("kind", kind)
	row("metadata.name", name)
	row("metadata.namespace", "default")
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		row("spec."+strings.ToLower(k), spec[k])
	}
	for _, t := range tags {
		row("metadata.tags", t)
	}
	if owner, ok := spec["owner"]; ok {
		target := "group:default/" + owner
		e.Relations = append(e.Relations,
			store.Relation{Source: ref, Type: "ownedBy", Target: target},
			store.Relation{Source: target, Type: "ownerOf", Target: ref})
	}
	return e
}

func seed() []store.Entity {
	return []store.Entity{
		ent("Component", "svc-a", map[string]string{"type": "service", "lifecycle": "production", "owner": "team-a"}, "go", "api"),
		ent("Component", "svc-b", map[string]string{"type": "website", "lifecycle": "experimental", "owner": "team-b"}, "js"),
		ent("Component", "Svc-C", map[string]string{"type": "service", "lifecycle": "production", "owner": "team-a"}),
		ent("API", "api-a", map[string]string{"type": "openapi", "lifecycle": "production", "owner": "team-a"}),
		ent("Group", "team-a", map[string]string{"type": "team"}),
	}
}

func names(es []*store.StoredEntity) []string {
	out := []string{}
	for _, e := range es {
		if e == nil {
			out = append(out, "<nil>")
			continue
		}
		out = append(out, e.Ref)
	}
	return out
}

// must unwraps a result; a store error aborts the suite with its message
// (a panic, because Go cannot pass a multi-value call next to t).
func must[T any](v T, err error) T {
	if err != nil {
		panic(fmt.Sprintf("store call failed: %v", err))
	}
	return v
}

func loaded(t *testing.T, open Opener) (store.Store, store.Location) {
	t.Helper()
	s := open(t)
	ctx := context.Background()
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/a.yaml"}))
	res := must(s.ReplaceLocation(ctx, loc.ID, seed(), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Inserted != 5 || len(res.Conflicts) != 0 {
		t.Fatalf("seed: %+v", res)
	}
	return s, loc
}

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	t.Run("Filters", func(t *testing.T) { testFilters(t, open) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open) })
	t.Run("ReadPaths", func(t *testing.T) { testReads(t, open) })
	t.Run("WritePath", func(t *testing.T) { testWrites(t, open) })
	t.Run("Locations", func(t *testing.T) { testLocations(t, open) })
	t.Run("OrphanLocation", func(t *testing.T) { testOrphanLocation(t, open) })
	t.Run("TaskSecrets", func(t *testing.T) { testTaskSecrets(t, open) })
	t.Run("SecretsAtOnce", func(t *testing.T) { testSecretsAtOnce(t, open) })
	t.Run("Waits", func(t *testing.T) { testWaits(t, open) })
	t.Run("DryRunReceipts", func(t *testing.T) { testDryRunReceipts(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("Docs", func(t *testing.T) { testDocs(t, open) })
	t.Run("AuthStore", func(t *testing.T) { testAuthStore(t, open) })
	t.Run("LargeBatch", func(t *testing.T) { testLargeBatch(t, open) })
	t.Run("Stream", func(t *testing.T) { testStream(t, open) })
	t.Run("FirstLoadIndexes", func(t *testing.T) { testFirstLoadIndexes(t, open) })
	t.Run("ReadersDuringFirstLoad", func(t *testing.T) { testReadersDuringFirstLoad(t, open) })
	t.Run("Search", func(t *testing.T) { testSearch(t, open) })
	t.Run("FullTextPaging", func(t *testing.T) { testFullTextPaging(t, open) })
	t.Run("RelationsOtherSide", func(t *testing.T) { testRelationsOtherSide(t, open) })
	t.Run("RelationsOnceInOrder", func(t *testing.T) { testRelationsOnceInOrder(t, open) })
	t.Run("RelationsDistinctSorted", func(t *testing.T) { testRelationsDistinctSorted(t, open) })
	t.Run("RelationStrings", func(t *testing.T) { testRelationStrings(t, open) })
	t.Run("StoredStrings", func(t *testing.T) { testStoredStrings(t, open) })
	t.Run("WriteGeneration", func(t *testing.T) { testWriteGeneration(t, open) })
	t.Run("QueryHidden", func(t *testing.T) { testQueryHidden(t, open) })
	t.Run("CountsAfterWrites", func(t *testing.T) { testCountsAfterWrites(t, open) })
	t.Run("HiddenSetComplement", func(t *testing.T) { testHiddenSetComplement(t, open) })
	t.Run("CancelledReplace", func(t *testing.T) { testCancelledReplace(t, open) })
	t.Run("RelationKeys", func(t *testing.T) { testRelationKeys(t, open) })
	t.Run("ColumnKeys", func(t *testing.T) { testColumnKeys(t, open) })
	t.Run("ByteOrder", func(t *testing.T) { ByteOrder(t, open(t)) })
}

func testFilters(t *testing.T, open Opener) {
	s, _ := loaded(t, open)
	checkFilters(t, s)
}

// checkFilters checks filters, relations and facets on a store holding
// seed().
func checkFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	c := func(k string, v ...string) store.Cond { return store.Cond{Key: k, Values: v} }
	cases := []struct {
		name   string
		filter store.Filter
		full   string
		fields []string
		want   []string
	}{
		{"everything", nil, "", nil, []string{"api:default/api-a", "component:default/svc-a", "component:default/svc-b", "component:default/svc-c", "group:default/team-a"}},
		{"kind", store.Filter{{c("kind", "component")}}, "", nil, []string{"component:default/svc-a", "component:default/svc-b", "component:default/svc-c"}},
		{"kind is case-insensitive", store.Filter{{c("KIND", "Component")}}, "", nil, []string{"component:default/svc-a", "component:default/svc-b", "component:default/svc-c"}},
		{"and", store.Filter{{c("kind", "component"), c("spec.owner", "team-a")}}, "", nil, []string{"component:default/svc-a", "component:default/svc-c"}},
		{"or", store.Filter{{c("kind", "api")}, {c("kind", "group")}}, "", nil, []string{"api:default/api-a", "group:default/team-a"}},
		{"any of values", store.Filter{{c("spec.type", "website", "openapi")}}, "", nil, []string{"api:default/api-a", "component:default/svc-b"}},
		{"exists", store.Filter{{c("spec.lifecycle")}}, "", nil, []string{"api:default/api-a", "component:default/svc-a", "component:default/svc-b", "component:default/svc-c"}},
		{"array value", store.Filter{{c("metadata.tags", "go")}}, "", nil, []string{"component:default/svc-a"}},
		{"name column", store.Filter{{c("metadata.name", "SVC-C")}}, "", nil, []string{"component:default/svc-c"}},
		{"relation", store.Filter{{c("relations.ownedBy", "group:default/team-a")}}, "", nil, []string{"api:default/api-a", "component:default/svc-a", "component:default/svc-c"}},
		{"reverse relation", store.Filter{{c("relations.ownerof", "component:default/svc-a")}}, "", nil, []string{"group:default/team-a"}},
		{"no match", store.Filter{{c("kind", "domain")}}, "", nil, []string{}},
		{"full text", nil, "SVC-", []string{"metadata.name"}, []string{"component:default/svc-a", "component:default/svc-b", "component:default/svc-c"}},
		{"full text any field", store.Filter{{c("kind", "component")}}, "webs", nil, []string{"component:default/svc-b"}},
		{"full text escapes like wildcards", nil, "%", nil, []string{}},
	}
	for _, cs := range cases {
		t.Run(cs.name, func(t *testing.T) {
			p := must(s.Query(ctx, store.Query{Filter: cs.filter, FullText: cs.full, FullTextFields: cs.fields, Limit: 100}))
			if got := names(p.Entities); !slices.Equal(got, cs.want) {
				t.Fatalf("got %v, want %v", got, cs.want)
			}
			if p.TotalItems != len(cs.want) {
				t.Fatalf("totalItems %d, want %d", p.TotalItems, len(cs.want))
			}
			// The count alone (by-query's limit=0), read by another statement.
			c := must(s.Query(ctx, store.Query{Filter: cs.filter, FullText: cs.full, FullTextFields: cs.fields, CountOnly: true}))
			if c.TotalItems != len(cs.want) || len(c.Entities) != 0 || c.HasMore {
				t.Fatalf("count only: totalItems %d with %d entities (more %v), want %d and none", c.TotalItems, len(c.Entities), c.HasMore, len(cs.want))
			}
		})
	}
	// Reverse relations emitted by other entities are stitched onto team-a.
	team := must(s.EntityByRef(ctx, "group:default/team-a"))
	var types []string
	for _, r := range team.Relations {
		types = append(types, r.Type+" "+r.Target)
	}
	want := []string{"ownerOf api:default/api-a", "ownerOf component:default/svc-a", "ownerOf component:default/svc-c"}
	if !slices.Equal(types, want) {
		t.Fatalf("team-a relations %v, want %v", types, want)
	}
	f := must(s.Facets(ctx, store.Filter{{c("kind", "component")}}, []string{"spec.type", "kind"}))
	if got := fmt.Sprint(f["spec.type"]); got != "[{service 2} {website 1}]" {
		t.Errorf("spec.type facet %s", got)
	}
	if got := fmt.Sprint(f["kind"]); got != "[{Component 3}]" {
		t.Errorf("kind facet keeps original case: %s", got)
	}
}

func testPaging(t *testing.T, open Opener) {
	s, _ := loaded(t, open)
	checkPaging(t, s)
}

// checkPaging checks keyset and offset paging on a store holding seed().
func checkPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, order := range [][]store.Order{nil, {{Field: "metadata.name", Desc: true}}, {{Field: "spec.type"}, {Field: "metadata.name", Desc: true}}} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			all := must(s.Query(ctx, store.Query{Order: order, Limit: 100}))
			want := names(all.Entities)
			var got []string
			var pages []store.Page
			q := store.Query{Order: order, Limit: 2}
			for {
				p := must(s.Query(ctx, q))
				pages = append(pages, p)
				got = append(got, names(p.Entities)...)
				if !p.HasMore {
					break
				}
				q.After, q.Before = p.Last, nil
				if len(pages) > 10 {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("forward pages %v, want %v", got, want)
			}
			// Back from the last page gives the previous page again.
			last := pages[len(pages)-1]
			prev := must(s.Query(ctx, store.Query{Order: order, Limit: 2, Before: last.First}))
			if !slices.Equal(names(prev.Entities), names(pages[len(pages)-2].Entities)) {
				t.Fatalf("previous page %v, want %v", names(prev.Entities), names(pages[len(pages)-2].Entities))
			}
		})
	}
	byName := must(s.Query(ctx, store.Query{Order: []store.Order{{Field: "metadata.name", Desc: true}}, Limit: 2, Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}}))
	if got := names(byName.Entities); !slices.Equal(got, []string{"component:default/svc-c", "component:default/svc-b"}) || !byName.HasMore || byName.TotalItems != 3 {
		t.Fatalf("ordered page %v more=%v total=%d", got, byName.HasMore, byName.TotalItems)
	}
	off := must(s.Query(ctx, store.Query{Limit: 2, Offset: 4}))
	if got := names(off.Entities); !slices.Equal(got, []string{"group:default/team-a"}) || off.HasMore {
		t.Fatalf("offset page %v", got)
	}
	if _, err := s.Query(ctx, store.Query{Limit: 0}); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("limit 0: %v", err)
	}
}

func testReads(t *testing.T, open Opener) {
	s, loc := loaded(t, open)
	checkReads(t, s, loc)
}

// checkReads checks the lookups by ref and uid on a store holding seed()
// in loc.
func checkReads(t *testing.T, s store.Store, loc store.Location) {
	ctx := context.Background()
	e := must(s.EntityByRef(ctx, "Component:Default/SVC-A"))
	if e.Ref != "component:default/svc-a" || e.LocationID != loc.ID || e.ETag == "" || !json.Valid(e.Body) {
		t.Fatalf("by ref: %+v", e)
	}
	if len(e.Relations) != 1 || e.Relations[0].Type != "ownedBy" || e.Relations[0].Target != "group:default/team-a" {
		t.Fatalf("relations %+v", e.Relations)
	}
	if got := must(s.EntityByUID(ctx, e.UID)); got.Ref != e.Ref {
		t.Fatalf("by uid: %s", got.Ref)
	}
	if _, err := s.EntityByRef(ctx, "component:default/nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("missing ref: %v", err)
	}
	if _, err := s.EntityByUID(ctx, "nope"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("missing uid: %v", err)
	}
	got := must(s.EntitiesByRefs(ctx, []string{"group:default/team-a", "component:default/missing", "component:default/svc-b"}))
	if n := names(got); !slices.Equal(n, []string{"group:default/team-a", "<nil>", "component:default/svc-b"}) {
		t.Fatalf("by refs %v", n)
	}
	if l := must(s.LocationOfEntity(ctx, "component:default/svc-b")); l.ID != loc.ID {
		t.Fatalf("location of entity: %+v", l)
	}
}

func testWrites(t *testing.T, open Opener) {
	s, loc := loaded(t, open)
	checkWrites(t, s, loc)
}

// checkWrites checks refreshes, conflicts, orphans and deletes on a store
// holding seed() in loc (and changes it).
func checkWrites(t *testing.T, s store.Store, loc store.Location) {
	ctx := context.Background()
	before := must(s.EntityByRef(ctx, "component:default/svc-a"))

	// Same content: nothing changes, uid and etag stay.
	res := must(s.ReplaceLocation(ctx, loc.ID, seed(), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Unchanged != 5 || res.Inserted+res.Updated+res.Removed != 0 {
		t.Fatalf("unchanged refresh: %+v", res)
	}
	if same := must(s.EntityByRef(ctx, "component:default/svc-a")); !same.UpdatedAt.Equal(before.UpdatedAt) || same.ETag != before.ETag {
		t.Fatalf("an unchanged refresh rewrote svc-a: updated %v -> %v", before.UpdatedAt, same.UpdatedAt)
	}
	// A changed owner updates in place and moves the relation.
	next := seed()
	next[0] = ent("Component", "svc-a", map[string]string{"type": "service", "lifecycle": "production", "owner": "team-b"}, "go")
	res = must(s.ReplaceLocation(ctx, loc.ID, next, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Updated != 1 || res.Unchanged != 4 {
		t.Fatalf("update: %+v", res)
	}
	after := must(s.EntityByRef(ctx, "component:default/svc-a"))
	if after.UID != before.UID || after.ETag == before.ETag || after.Relations[0].Target != "group:default/team-b" {
		t.Fatalf("update kept uid %v, changed etag %v, relations %+v", after.UID == before.UID, after.ETag != before.ETag, after.Relations)
	}
	p := must(s.Query(ctx, store.Query{Filter: store.Filter{{{Key: "metadata.tags", Values: []string{"api"}}}}, Limit: 10}))
	if len(p.Entities) != 0 {
		t.Fatalf("stale search rows after update: %v", names(p.Entities))
	}

	// A batch that fails (two entities with one uid) leaves the last good state.
	bad := seed()
	extra := ent("Component", "svc-x", map[string]string{"owner": "team-a"})
	extra.UID, bad[4].UID = "dup-uid", "dup-uid"
	bad = append(bad, extra)
	bad[4].Hash = "changed"
	bad[4].Ref = "group:default/team-z"
	if _, err := s.ReplaceLocation(ctx, loc.ID, bad, store.ReplaceOptions{Orphans: store.OrphanDelete}); err == nil {
		t.Fatal("a batch with a duplicate uid must fail")
	}
	if p := must(s.Query(ctx, store.Query{Limit: 100})); p.TotalItems != 5 || names(p.Entities)[4] != "group:default/team-a" {
		t.Fatalf("failed batch changed stored data: %v", names(p.Entities))
	}

	// Another location claiming an existing ref: conflict, first owner kept.
	other := must(s.AddLocation(ctx, store.Location{Type: "url", Target: "https://example.com/b.yaml"}))
	res = must(s.ReplaceLocation(ctx, other.ID, []store.Entity{ent("Component", "SVC-A", nil), ent("Component", "svc-new", nil)}, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Inserted != 1 || len(res.Conflicts) != 1 || res.Conflicts[0].Ref != "component:default/svc-a" || res.Conflicts[0].OwnerLocation != loc.ID {
		t.Fatalf("conflict: %+v", res)
	}
	if e := must(s.EntityByRef(ctx, "component:default/svc-a")); e.LocationID != loc.ID {
		t.Fatal("conflicting location took over an entity")
	}

	// Orphans: keep marks, delete removes; an orphan that returns is adopted again.
	res = must(s.ReplaceLocation(ctx, loc.ID, seed()[:4], store.ReplaceOptions{Orphans: store.OrphanKeep}))
	if res.Orphaned != 1 {
		t.Fatalf("keep orphans: %+v", res)
	}
	if e := must(s.EntityByRef(ctx, "group:default/team-a")); !e.Orphan {
		t.Fatal("vanished entity not marked orphan")
	}
	must(s.ReplaceLocation(ctx, loc.ID, seed(), store.ReplaceOptions{Orphans: store.OrphanKeep}))
	if e := must(s.EntityByRef(ctx, "group:default/team-a")); e.Orphan {
		t.Fatal("returned entity still marked orphan")
	}
	res = must(s.ReplaceLocation(ctx, loc.ID, seed()[:4], store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Removed != 1 {
		t.Fatalf("delete orphans: %+v", res)
	}
	if _, err := s.EntityByRef(ctx, "group:default/team-a"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatal("orphan not deleted")
	}
	if rel := must(s.Query(ctx, store.Query{Filter: store.Filter{{{Key: "relations.ownedby"}}}, Limit: 100})); rel.TotalItems != 4 {
		t.Fatalf("relations after delete: %v", names(rel.Entities))
	}

	// A ref kept (invalid this time) is neither updated nor removed.
	before = must(s.EntityByRef(ctx, "component:default/svc-c"))
	res = must(s.ReplaceLocation(ctx, loc.ID, seed()[:2], store.ReplaceOptions{Orphans: store.OrphanDelete, Keep: []string{"component:default/svc-c"}}))
	if res.Removed != 1 { // api-a goes, svc-c stays
		t.Fatalf("keep: %+v", res)
	}
	if kept := must(s.EntityByRef(ctx, "component:default/svc-c")); kept.ETag != before.ETag {
		t.Fatal("kept entity changed")
	}

	// Writing to an unknown location changes nothing.
	if _, err := s.ReplaceLocation(ctx, "no-such-location", seed(), store.ReplaceOptions{Orphans: store.OrphanDelete}); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("unknown location: %v", err)
	}
	e := must(s.EntityByRef(ctx, "component:default/svc-b"))
	if err := s.DeleteEntity(ctx, e.UID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EntityByUID(ctx, e.UID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatal("deleted entity still there")
	}
	if err := s.DeleteEntity(ctx, e.UID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// testOrphanLocation: removing a location with orphan strategy keep keeps
// its entities, marked orphaned and owned by no location.
func testOrphanLocation(t *testing.T, open Opener) {
	s, loc := loaded(t, open)
	ctx := context.Background()
	if err := s.OrphanLocation(ctx, loc.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetLocation(ctx, loc.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("location still there: %v", err)
	}
	p := must(s.Query(ctx, store.Query{Limit: 10}))
	if p.TotalItems != 5 {
		t.Fatalf("orphaned entities: %d, want 5", p.TotalItems)
	}
	for _, e := range p.Entities {
		if !e.Orphan || e.LocationID != "" {
			t.Errorf("%s: orphan %v, location %q", e.Ref, e.Orphan, e.LocationID)
		}
	}
	if err := s.OrphanLocation(ctx, loc.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("orphan twice: %v", err)
	}
}

func testLocations(t *testing.T, open Opener) {
	s, loc := loaded(t, open)
	ctx := context.Background()
	if _, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/a.yaml"}); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("duplicate location: %v", err)
	}
	got := must(s.GetLocation(ctx, loc.ID))
	if got.Type != "file" || got.Target != "/a.yaml" || got.CreatedAt.IsZero() {
		t.Fatalf("get location %+v", got)
	}
	if err := s.SetLocationStatus(ctx, loc.ID, "boom", got.CreatedAt); err != nil {
		t.Fatal(err)
	}
	if l := must(s.GetLocation(ctx, loc.ID)); l.LastError != "boom" || l.LastRefresh.IsZero() {
		t.Fatalf("status not stored: %+v", l)
	}
	if ls := must(s.ListLocations(ctx)); len(ls) != 1 {
		t.Fatalf("list %+v", ls)
	}
	if err := s.DeleteLocation(ctx, loc.ID); err != nil {
		t.Fatal(err)
	}
	if p := must(s.Query(ctx, store.Query{Limit: 10})); p.TotalItems != 0 {
		t.Fatalf("entities outlived their location: %v", names(p.Entities))
	}
	if err := s.DeleteLocation(ctx, loc.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := s.GetLocation(ctx, loc.ID); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
}

// testLargeBatch writes a batch big enough for a store's bulk paths (a
// first load may build indexes after its rows), then checks that filters,
// relations and a later incremental refresh behave as with small batches.
func testLargeBatch(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	small := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/small.yaml"}))
	must(s.ReplaceLocation(ctx, small.ID, seed(), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/big.yaml"}))
	batch := func(owner9 string) []store.Entity {
		var out []store.Entity
		for i := range 1500 {
			owner := fmt.Sprintf("team-%d", i%10)
			if i%10 == 9 {
				owner = owner9
			}
			out = append(out, ent("Component", fmt.Sprintf("big-%04d", i), map[string]string{"type": "service", "owner": owner}))
		}
		return out
	}
	res := must(s.ReplaceLocation(ctx, loc.ID, batch("team-9"), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Inserted != 1500 {
		t.Fatalf("large batch: %+v", res)
	}
	count := func(f store.Filter) int {
		t.Helper()
		return must(s.Query(ctx, store.Query{Filter: f, Limit: 1})).TotalItems
	}
	owner := func(o string) store.Filter {
		return store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{o}}}}
	}
	if n := count(owner("team-3")); n != 150 {
		t.Fatalf("spec.owner=team-3: %d entities, want 150", n)
	}
	if n := count(owner("team-a")); n != 2 {
		t.Fatalf("the other location's entities after a large batch: %d, want 2", n)
	}
	if n := count(store.Filter{{{Key: "relations.ownedby", Values: []string{"group:default/team-3"}}}}); n != 150 {
		t.Fatalf("relations.ownedBy=team-3: %d entities, want 150", n)
	}
	e := must(s.EntityByRef(ctx, "component:default/big-0042"))
	if len(e.Relations) != 1 || e.Relations[0].Target != "group:default/team-2" {
		t.Fatalf("relations of big-0042: %+v", e.Relations)
	}
	// An incremental refresh of the same location moves a tenth of it.
	res = must(s.ReplaceLocation(ctx, loc.ID, batch("team-x"), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	if res.Updated != 150 || res.Unchanged != 1350 {
		t.Fatalf("incremental refresh: %+v", res)
	}
	if n, m := count(owner("team-9")), count(owner("team-x")); n != 0 || m != 150 {
		t.Fatalf("after the refresh: team-9 owns %d, team-x %d; want 0 and 150", n, m)
	}
}

// testStream checks ReplaceLocationStream: a stream that fails part-way,
// even after a first load's bulk path began, leaves the last good state;
// refs to keep may arrive once the stream is exhausted.
func testStream(t *testing.T, open Opener) {
	s, loc := loaded(t, open)
	ctx := context.Background()
	boom := errors.New("file 3 does not parse")
	failing := func(es []store.Entity) iter.Seq2[store.Entity, error] {
		return func(yield func(store.Entity, error) bool) {
			for _, e := range es {
				if !yield(e, nil) {
					return
				}
			}
			yield(store.Entity{}, boom)
		}
	}
	changed := seed()[:2]
	changed[0] = ent("Component", "svc-a", map[string]string{"owner": "team-z"})
	if _, err := s.ReplaceLocationStream(ctx, loc.ID, failing(changed), store.ReplaceOptions{Orphans: store.OrphanDelete}); !errors.Is(err, boom) {
		t.Fatalf("failed stream: %v", err)
	}
	big := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/big.yaml"}))
	var many []store.Entity
	for i := range 2500 {
		many = append(many, ent("Component", fmt.Sprintf("big-%04d", i), map[string]string{"owner": "team-a"}))
	}
	if _, err := s.ReplaceLocationStream(ctx, big.ID, failing(many), store.ReplaceOptions{Orphans: store.OrphanDelete}); !errors.Is(err, boom) {
		t.Fatalf("failed large stream: %v", err)
	}
	owner := store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{"team-a"}}}}
	if p := must(s.Query(ctx, store.Query{Filter: owner, Limit: 10})); p.TotalItems != 2 || names(p.Entities)[0] != "component:default/svc-a" {
		t.Fatalf("failed streams changed stored data: %v", names(p.Entities))
	}

	stream := func(yield func(store.Entity, error) bool) {
		for _, e := range seed()[:2] {
			if !yield(e, nil) {
				return
			}
		}
	}
	kept := false
	res := must(s.ReplaceLocationStream(ctx, loc.ID, stream, store.ReplaceOptions{Orphans: store.OrphanDelete,
		KeepAfter: func() []string { kept = true; return []string{"component:default/svc-c"} }}))
	if !kept || res.Unchanged != 2 || res.Removed != 2 {
		t.Fatalf("stream with refs kept after it: %+v", res)
	}
	if _, err := s.EntityByRef(ctx, "component:default/svc-c"); err != nil {
		t.Fatalf("kept entity: %v", err)
	}

	// The time the writer waits for a slow stream's entities is counted
	// as waiting, not as the write's (ReplaceTiming, the refresh's log).
	const pause = 40 * time.Millisecond
	slow := func(yield func(store.Entity, error) bool) {
		for _, e := range seed()[:3] {
			time.Sleep(pause)
			if !yield(e, nil) {
				return
			}
		}
	}
	t0 := time.Now()
	res = must(s.ReplaceLocationStream(ctx, loc.ID, slow, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	took, tm := time.Since(t0), res.Timing
	if tm.Wait < 3*pause || tm.Commit <= 0 || tm.Finish <= 0 {
		t.Fatalf("timing of a stream pausing %v before each of 3 entities: %+v; want at least %v waiting, and a finish and a commit", pause, tm, 3*pause)
	}
	if sum := tm.Wait + tm.Write + tm.Finish + tm.Analyze + tm.Commit; sum > took {
		t.Fatalf("timing %+v adds up to %v, more than the %v the call took", tm, sum, took)
	}
}

// testFirstLoadIndexes checks that a first load large enough to build the
// secondary indexes after its rows leaves them as it found them, whether
// it fails part-way (after they were dropped) or commits, and that stored
// entities survive the failed one.
func testFirstLoadIndexes(t *testing.T, open Opener) {
	s := open(t)
	ix, ok := s.(interface {
		FirstLoadIndexes(context.Context) ([]string, error)
	})
	if !ok {
		t.Fatalf("%T does not list the indexes a first load may rebuild", s)
	}
	ctx := context.Background()
	small := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/small.yaml"}))
	must(s.ReplaceLocation(ctx, small.ID, seed(), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	before := must(ix.FirstLoadIndexes(ctx))
	if len(before) < 5 {
		t.Fatalf("the catalog tables' secondary indexes: %q", before)
	}
	big := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/big.yaml"}))
	many := func(n int) []store.Entity {
		var out []store.Entity
		for i := range n {
			out = append(out, ent("Component", fmt.Sprintf("big-%04d", i), map[string]string{"owner": "team-big"}))
		}
		return out
	}
	boom := errors.New("the last file does not parse")
	failing := func(yield func(store.Entity, error) bool) {
		for _, e := range many(2500) {
			if !yield(e, nil) {
				return
			}
		}
		yield(store.Entity{}, boom)
	}
	if _, err := s.ReplaceLocationStream(ctx, big.ID, failing, store.ReplaceOptions{Orphans: store.OrphanDelete}); !errors.Is(err, boom) {
		t.Fatalf("failed first load: %v", err)
	}
	if got := must(ix.FirstLoadIndexes(ctx)); !slices.Equal(got, before) {
		t.Fatalf("indexes after a failed first load:\n%q\nwant\n%q", got, before)
	}
	owner := func(o string) int {
		f := store.Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{o}}}}
		return must(s.Query(ctx, store.Query{Filter: f, Limit: 1})).TotalItems
	}
	if a, b := owner("team-a"), owner("team-big"); a != 2 || b != 0 {
		t.Fatalf("after a failed first load team-a owns %d, team-big %d; want 2 and 0", a, b)
	}
	if res := must(s.ReplaceLocation(ctx, big.ID, many(1500), store.ReplaceOptions{Orphans: store.OrphanDelete})); res.Inserted != 1500 {
		t.Fatalf("first load: %+v", res)
	}
	if got := must(ix.FirstLoadIndexes(ctx)); !slices.Equal(got, before) {
		t.Fatalf("indexes after a first load:\n%q\nwant\n%q", got, before)
	}
	if a, b := owner("team-a"), owner("team-big"); a != 2 || b != 1500 {
		t.Fatalf("after the first load team-a owns %d, team-big %d; want 2 and 1500", a, b)
	}
}
