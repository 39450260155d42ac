package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// testRelationsOtherSide: an entity's relations as every read path
// answers them (a page, by ref, by refs) follow changes made from the
// other side — relations another entity emits — even when a refresh
// writes only that other entity: an owner changed, a group deleted, a
// group renamed.
func testRelationsOtherSide(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	group := func(name string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: " + name + "}\nspec: {type: team, children: []}\n"
	}
	component := func(owner string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: svc}\nspec: {type: service, lifecycle: production, owner: " + owner + "}\n"
	}
	teams := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/teams.yaml"}))
	svc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/svc.yaml"}))
	replace := func(loc store.Location, docs ...string) {
		t.Helper()
		must(s.ReplaceLocation(ctx, loc.ID, rows(t, strings.Join(docs, "---\n")), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	}
	// want: each ref's relations ("type target", sorted), nil: no entity.
	// It returns each present ref's etag, which every read path (by ref,
	// by uid, by refs, a page) must serve alike.
	check := func(step string, want map[string][]string) map[string]string {
		t.Helper()
		etags := map[string]string{}
		refs := slices.Sorted(func(yield func(string) bool) {
			for r := range want {
				if !yield(r) {
					return
				}
			}
		})
		list := must(s.EntitiesByRefs(ctx, refs))
		page := must(s.Query(ctx, store.Query{Limit: 100}))
		inPage := map[string]*store.StoredEntity{}
		for _, e := range page.Entities {
			inPage[e.Ref] = e
		}
		for i, ref := range refs {
			byRef, err := s.EntityByRef(ctx, ref)
			if want[ref] == nil {
				if !errors.Is(err, errs.ErrNotFound) || list[i] != nil || inPage[ref] != nil {
					t.Fatalf("%s: %s still read (by ref: %v)", step, ref, err)
				}
				continue
			}
			if err != nil || list[i] == nil || inPage[ref] == nil {
				t.Fatalf("%s: %s missing (by ref: %v, by refs: %v, in page: %v)", step, ref, err, list[i] != nil, inPage[ref] != nil)
			}
			byUID := must(s.EntityByUID(ctx, byRef.UID))
			etags[ref] = byRef.ETag
			for path, e := range map[string]*store.StoredEntity{"by ref": byRef, "by uid": byUID, "by refs": list[i], "page": inPage[ref]} {
				if e.ETag != etags[ref] {
					t.Fatalf("%s: %s %s: etag %q, by ref %q", step, ref, path, e.ETag, etags[ref])
				}
				got := []string{}
				for _, r := range e.Relations {
					if r.Source != ref {
						t.Fatalf("%s: %s %s: relation from %s", step, ref, path, r.Source)
					}
					got = append(got, r.Type+" "+r.Target)
				}
				if !slices.Equal(got, want[ref]) {
					t.Fatalf("%s: %s %s: relations %q, want %q", step, ref, path, got, want[ref])
				}
			}
		}
		return etags
	}
	// changed checks which of the refs in before have a new etag now:
	// exactly those in moved (the others were left alone).
	changed := func(step string, before, now map[string]string, moved ...string) {
		t.Helper()
		for ref, tag := range before {
			if now[ref] == "" {
				continue
			}
			if want := slices.Contains(moved, ref); (now[ref] != tag) != want {
				t.Fatalf("%s: %s etag %q then %q; want changed: %v", step, ref, tag, now[ref], want)
			}
		}
	}
	replace(teams, group("team-a"), group("team-b"))
	replace(svc, component("team-a"))
	start := check("start", map[string][]string{
		"group:default/team-a":  {"ownerOf component:default/svc"},
		"group:default/team-b":  {},
		"component:default/svc": {"ownedBy group:default/team-a"},
	})
	// The same documents again: nothing is served differently.
	replace(teams, group("team-a"), group("team-b"))
	replace(svc, component("team-a"))
	changed("unchanged", start, check("unchanged", map[string][]string{
		"group:default/team-a":  {"ownerOf component:default/svc"},
		"group:default/team-b":  {},
		"component:default/svc": {"ownedBy group:default/team-a"},
	}))
	// Only svc's location is refreshed: the groups' rows are not written,
	// but both groups are served with other relations, so other etags.
	replace(svc, component("team-b"))
	moved := check("owner changed", map[string][]string{
		"group:default/team-a":  {},
		"group:default/team-b":  {"ownerOf component:default/svc"},
		"component:default/svc": {"ownedBy group:default/team-b"},
	})
	changed("owner changed", start, moved, "group:default/team-a", "group:default/team-b", "component:default/svc")
	// A new entity that depends on svc: svc gains dependencyOf, and its
	// etag follows though svc's own document is as it was.
	deps := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/web.yaml"}))
	replace(deps, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: web}\nspec: {type: website, lifecycle: production, owner: team-b, dependsOn: [component:svc]}\n")
	depended := check("new dependent", map[string][]string{
		"group:default/team-a":  {},
		"group:default/team-b":  {"ownerOf component:default/svc", "ownerOf component:default/web"},
		"component:default/svc": {"dependencyOf component:default/web", "ownedBy group:default/team-b"},
		"component:default/web": {"dependsOn component:default/svc", "ownedBy group:default/team-b"},
	})
	changed("new dependent", moved, depended, "group:default/team-b", "component:default/svc")
	replace(deps)
	// The owner deleted: svc's own relation stays (as Backstage keeps it).
	replace(teams, group("team-a"))
	deleted := check("owner deleted", map[string][]string{
		"group:default/team-a":  {},
		"group:default/team-b":  nil,
		"component:default/svc": {"ownedBy group:default/team-b"},
	})
	// svc is served as before the dependent came (the same body and
	// relations), so with the same etag as then.
	changed("owner deleted", moved, deleted)
	// The owner renamed team-a to team-z, and svc follows.
	replace(teams, group("team-z"))
	replace(svc, component("team-z"))
	changed("owner renamed", deleted, check("owner renamed", map[string][]string{
		"group:default/team-a":  nil,
		"group:default/team-z":  {"ownerOf component:default/svc"},
		"component:default/svc": {"ownedBy group:default/team-z"},
	}), "component:default/svc")
}

// testRelationsDistinctSorted: a relation two entities emit (from two
// locations) is read once, and relations are read sorted by type and
// then target in byte order ("x-B" before "x-a", which PostgreSQL's
// ORDER BY under a non-C collation puts the other way round), alike on
// every read path, with one etag.
func testRelationsDistinctSorted(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	svc := ent("Component", "dup", map[string]string{"type": "service", "lifecycle": "production", "owner": "team-a"})
	svc.Relations = append(svc.Relations,
		store.Relation{Source: svc.Ref, Type: "x-a", Target: "group:default/b"},
		store.Relation{Source: svc.Ref, Type: "x-B", Target: "group:default/a"})
	team := ent("Group", "team-a", map[string]string{"type": "team"})
	team.Relations = append(team.Relations,
		store.Relation{Source: svc.Ref, Type: "ownedBy", Target: team.Ref},
		store.Relation{Source: team.Ref, Type: "ownerOf", Target: svc.Ref})
	for i, e := range []store.Entity{svc, team} {
		loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/dup-%d.yaml", i)}))
		must(s.ReplaceLocation(ctx, loc.ID, []store.Entity{e}, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	}
	want := []string{"ownedBy group:default/team-a", "x-B group:default/a", "x-a group:default/b"}
	paths := readPaths(t, s, svc.Ref)
	byRef := paths["by ref"]
	for path, e := range paths {
		var got []string
		for _, r := range e.Relations {
			got = append(got, r.Type+" "+r.Target)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: relations %q, want %q", path, got, want)
		}
		if e.ETag != byRef.ETag {
			t.Errorf("%s: etag %q, by ref %q", path, e.ETag, byRef.ETag)
		}
	}
}

// testRelationsOnceInOrder: a relation both of its ends emit (a group's
// children and the child's parent) is read once, and an entity's
// relations come by type and then target in byte order, on every read
// path: the stores leave both to Go rather than to SQL.
func testRelationsOnceInOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/org.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: p}
spec: {type: team, children: [c, B-c, b_c]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: c}
spec: {type: team, parent: p, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: B-c}
spec: {type: team, parent: p, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: b_c}
spec: {type: team, parent: p, children: []}
`), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	want := map[string][]string{
		"group:default/p": {"parentOf group:default/b-c", "parentOf group:default/b_c", "parentOf group:default/c"},
		"group:default/c": {"childOf group:default/p"},
	}
	text := func(e *store.StoredEntity) []string {
		var out []string
		for _, r := range e.Relations {
			out = append(out, r.Type+" "+r.Target)
		}
		return out
	}
	page := must(s.Query(ctx, store.Query{Limit: 10}))
	for ref, rels := range want {
		byRef := must(s.EntityByRef(ctx, ref))
		if got := text(byRef); !slices.Equal(got, rels) {
			t.Errorf("%s by ref: relations %q, want %q", ref, got, rels)
		}
		for _, e := range page.Entities {
			if e.Ref == ref && !slices.Equal(text(e), rels) {
				t.Errorf("%s in a page: relations %q, want %q", ref, text(e), rels)
			}
		}
	}
}

// testRelationStrings: a relation's type and target come back byte for
// byte on every read path, whatever they hold: the characters the stores'
// encodings of an entity's relations quote or escape (JSON on SQLite, a
// text array on PostgreSQL), the words those encodings give meaning to,
// and text that is not ASCII. The catalog validates what it writes; the
// store must not rely on it.
func testRelationStrings(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	e := ent("Component", "odd", map[string]string{"type": "service", "lifecycle": "production", "owner": "team-a"})
	odd := []string{`a"b`, `a\b`, `\`, `"`, `{}`, `{a,b}`, `a,b`, `a b`, "a\tb", "a\nb", "a\u00e9b \u2603", `NULL`, `null`, `Null`, `[]`, `["x","y"]`, "\u00a0", `x"\"y`, "", "\r", "\v", "\f"}
	for i, v := range odd {
		e.Relations = append(e.Relations,
			store.Relation{Source: e.Ref, Type: "t" + v, Target: fmt.Sprintf("group:default/%d%s", i, v)},
			store.Relation{Source: e.Ref, Type: v, Target: v})
	}
	// By type and then target.
	var rels []store.Relation
	for _, r := range e.Relations {
		if r.Source == e.Ref { // not ent's ownerOf of the owner
			rels = append(rels, r)
		}
	}
	slices.SortFunc(rels, func(a, b store.Relation) int {
		return cmp.Or(strings.Compare(a.Type, b.Type), strings.Compare(a.Target, b.Target))
	})
	var want []string
	for _, r := range rels {
		want = append(want, r.Type+"|"+r.Target)
	}
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/odd.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, []store.Entity{e}, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	paths := readPaths(t, s, e.Ref)
	for path, got := range paths {
		if got.ETag != paths["by ref"].ETag {
			t.Errorf("%s: etag %q, by ref %q", path, got.ETag, paths["by ref"].ETag)
		}
		var rels []string
		for _, r := range got.Relations {
			if r.Source != e.Ref {
				t.Errorf("%s: a relation's source %q, want %q", path, r.Source, e.Ref)
			}
			rels = append(rels, r.Type+"|"+r.Target)
		}
		if !slices.Equal(rels, want) {
			t.Errorf("%s: relations\n%q\nwant\n%q", path, rels, want)
		}
	}
}

// readPaths reads the one component of s, ref, on each read path: by its
// ref, by its uid, in a list by refs and in a page of components.
func readPaths(t *testing.T, s store.Store, ref string) map[string]*store.StoredEntity {
	t.Helper()
	ctx := context.Background()
	byRef := must(s.EntityByRef(ctx, ref))
	byUID := must(s.EntityByUID(ctx, byRef.UID))
	byRefs := must(s.EntitiesByRefs(ctx, []string{ref}))
	page := must(s.Query(ctx, store.Query{Limit: 10, Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}}))
	if len(byRefs) != 1 || byRefs[0] == nil || len(page.Entities) != 1 {
		t.Fatalf("by refs %d, page %d entities; want 1 each", len(byRefs), len(page.Entities))
	}
	return map[string]*store.StoredEntity{"by ref": byRef, "by uid": byUID, "by refs": byRefs[0], "page": page.Entities[0]}
}
