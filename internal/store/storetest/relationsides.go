package storetest

import (
	"context"
	"errors"
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
	check := func(step string, want map[string][]string) {
		t.Helper()
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
			for path, e := range map[string]*store.StoredEntity{"by ref": byRef, "by refs": list[i], "page": inPage[ref]} {
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
	}
	replace(teams, group("team-a"), group("team-b"))
	replace(svc, component("team-a"))
	check("start", map[string][]string{
		"group:default/team-a":  {"ownerOf component:default/svc"},
		"group:default/team-b":  {},
		"component:default/svc": {"ownedBy group:default/team-a"},
	})
	// Only svc's location is refreshed: the groups' rows are not written.
	replace(svc, component("team-b"))
	check("owner changed", map[string][]string{
		"group:default/team-a":  {},
		"group:default/team-b":  {"ownerOf component:default/svc"},
		"component:default/svc": {"ownedBy group:default/team-b"},
	})
	// The owner deleted: svc's own relation stays (as Backstage keeps it).
	replace(teams, group("team-a"))
	check("owner deleted", map[string][]string{
		"group:default/team-a":  {},
		"group:default/team-b":  nil,
		"component:default/svc": {"ownedBy group:default/team-b"},
	})
	// The owner renamed team-a to team-z, and svc follows.
	replace(teams, group("team-z"))
	replace(svc, component("team-z"))
	check("owner renamed", map[string][]string{
		"group:default/team-a":  nil,
		"group:default/team-z":  {"ownerOf component:default/svc"},
		"component:default/svc": {"ownedBy group:default/team-z"},
	})
}
