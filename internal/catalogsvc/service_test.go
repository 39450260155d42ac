package catalogsvc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// testCatalog is the catalog the permission tests share: team-a's svc-a
// and svc-a2, team-b's sensitive secret-b that svc-a depends on.
const testCatalog = "../catalog/testdata/policy/catalog.yaml"

var (
	alice = auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	bob   = auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob", "group:default/team-b"}}
	guest = auth.Identity{Ref: auth.GuestRef, Guest: true, Via: "guest"}
)

// testService loads testCatalog into a real SQLite store (through the
// catalog's own refresh activity) and serves it under the default policy
// (nil policy: withPolicy false). No Temporal: the operations tested
// here decide before they would start a workflow.
func testService(t *testing.T, withPolicy bool) (*Service, store.Store, store.Location) {
	t.Helper()
	st := openSQLite(t)
	f, err := filepath.Abs(testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	s, loc, _ := testServiceOn(t, st, f, withPolicy)
	return s, st, loc
}

// openSQLite opens a fresh SQLite store, closed when the test ends.
func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// testServiceOn loads the catalog file f into st and serves it under the
// default policy (nil policy: withPolicy false); refresh reads f again.
func testServiceOn(t *testing.T, st store.Store, f string, withPolicy bool) (s *Service, loc store.Location, refresh func()) {
	t.Helper()
	ctx := context.Background()
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: f, Static: true})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := &activities.Catalog{Store: st, Rules: catalog.DefaultRules(), Limits: catalog.DefaultLimits(), Orphans: store.OrphanDelete, Logger: logger}
	refresh = func() {
		t.Helper()
		if res, err := cat.RefreshLocation(ctx, contract.CatalogRefreshInput{LocationID: loc.ID}); err != nil || res.Entities == 0 {
			t.Fatalf("refresh: %+v %v", res, err)
		}
	}
	refresh()
	var pol *permission.Policy
	if withPolicy {
		if pol, err = permission.Default(); err != nil {
			t.Fatal(err)
		}
	}
	return New(Deps{Logger: logger, Store: st, Policy: pol}), loc, refresh
}

func targets(e *store.StoredEntity) []string {
	var out []string
	for _, r := range e.Relations {
		out = append(out, r.Target)
	}
	return out
}

// TestReadsHideWhatTheCallerMayNotRead: every read of the service, called
// without HTTP, hides team-b's sensitive entity from alice — get, list
// and its total, by-refs, facets, relations — and shows it to its owner
// and to everyone without a policy.
func TestReadsHideWhatTheCallerMayNotRead(t *testing.T) {
	ctx := context.Background()
	const secret, svc = "component:default/secret-b", "component:default/svc-a"
	components := store.Filter{{{Key: "kind", Values: []string{"component"}}}}
	for _, c := range []struct {
		name    string
		policy  bool
		who     auth.Identity
		visible bool
	}{
		{"alice,policy", true, alice, false},
		{"guest,policy", true, guest, false},
		{"bob,policy", true, bob, true},
		{"alice,no-policy", false, alice, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _, _ := testService(t, c.policy)

			_, err := s.EntityByRef(ctx, c.who, secret)
			if c.visible != (err == nil) {
				t.Errorf("EntityByRef(%s): visible %v, err %v", secret, c.visible, err)
			}
			if !c.visible && (!errors.Is(err, errs.ErrNotFound) || err.Error() != `no entity named "component:default/secret-b"`) {
				t.Errorf("EntityByRef(%s): want the store's not-found message, got %v", secret, err)
			}

			e, err := s.EntityByRef(ctx, c.who, svc)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(targets(e), secret); got != c.visible {
				t.Errorf("svc-a's relation to secret-b kept %v, want %v (%v)", got, c.visible, targets(e))
			}

			page, err := s.Query(ctx, c.who, store.Query{Filter: components, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			want := 2 // svc-a, svc-a2
			if c.visible {
				want = 3
			}
			if page.TotalItems != want || len(page.Entities) != want {
				t.Errorf("Query: totalItems %d, %d entities; want %d", page.TotalItems, len(page.Entities), want)
			}

			es, err := s.EntitiesByRefs(ctx, c.who, []string{svc, secret, "component:default/nope"})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 3 || es[0] == nil || (es[1] != nil) != c.visible || es[2] != nil {
				t.Errorf("EntitiesByRefs: %v", es)
			}

			facets, err := s.Facets(ctx, c.who, components, []string{"kind"})
			if err != nil {
				t.Fatal(err)
			}
			if fc := facets["kind"]; len(fc) != 1 || fc[0].Count != want {
				t.Errorf("Facets: %v, want component %d", facets, want)
			}
		})
	}
}

// TestChangesAreDecided: a denied change is ErrForbidden with the
// policy's reason, a change to an entity the caller may not read is "not
// found", and a location type callers may not register is refused before
// the policy or Temporal is asked.
func TestChangesAreDecided(t *testing.T) {
	ctx := context.Background()
	s, st, _ := testService(t, true)
	secret, err := st.EntityByRef(ctx, "component:default/secret-b")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := st.EntityByRef(ctx, "component:default/svc-a")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		op   func() error
		want error
	}{
		{"guest deletes svc-a", func() error { return s.DeleteEntity(ctx, guest, svc.UID) }, errs.ErrForbidden},
		{"alice deletes secret-b", func() error { return s.DeleteEntity(ctx, alice, secret.UID) }, errs.ErrNotFound},
		{"guest refreshes svc-a", func() error { return s.RefreshEntity(ctx, guest, svc.Ref) }, errs.ErrForbidden},
		{"alice refreshes secret-b", func() error { return s.RefreshEntity(ctx, alice, secret.Ref) }, errs.ErrNotFound},
		{"guest registers", func() error {
			_, err := s.AddLocation(ctx, guest, "url", "https://example.com/catalog-info.yaml")
			return err
		}, errs.ErrForbidden},
		{"alice registers a file", func() error {
			_, err := s.AddLocation(ctx, alice, "file", "/etc/passwd")
			return err
		}, errs.ErrInvalid},
		{"too many refs", func() error {
			_, err := s.EntitiesByRefs(ctx, alice, make([]string, store.MaxLimit+1))
			return err
		}, errs.ErrInvalid},
		{"no facet", func() error {
			_, err := s.Facets(ctx, alice, nil, nil)
			return err
		}, errs.ErrInvalid},
		{"alice dry-runs an unknown type", func() error {
			_, err := s.DryRunLocation(ctx, alice, "ftp", "ftp://example.com/x")
			return err
		}, errs.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.op(); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := st.EntityByUID(ctx, svc.UID); err != nil {
		t.Errorf("svc-a is gone after refused changes: %v", err)
	}
}

// TestLocationsAndAncestry: a location only who may read it sees — in the
// list, by id, as the generated Location entity and as the root of an
// entity's ancestry.
func TestLocationsAndAncestry(t *testing.T) {
	ctx := context.Background()
	s, _, loc := testService(t, true)
	name := generatedName(loc)
	for _, c := range []struct {
		name     string
		who      auth.Identity
		mayRead  bool
		wantRoot string
	}{
		{"alice", alice, true, "location:default/" + name},
		{"guest", guest, false, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ls, err := s.Locations(ctx, c.who)
			if err != nil {
				t.Fatal(err)
			}
			if (len(ls) == 1) != c.mayRead {
				t.Errorf("Locations: %v", ls)
			}
			if _, err := s.Location(ctx, c.who, loc.ID); (err == nil) != c.mayRead || err != nil && !errors.Is(err, errs.ErrNotFound) {
				t.Errorf("Location: %v", err)
			}
			e, g, err := s.EntityByName(ctx, c.who, "Location", "default", name)
			switch {
			case c.mayRead && (err != nil || e != nil || g == nil || g.Ref() != c.wantRoot || g.Location.ID != loc.ID):
				t.Errorf("EntityByName(generated): %v %v %v", e, g, err)
			case !c.mayRead && !errors.Is(err, errs.ErrNotFound):
				t.Errorf("EntityByName(generated): want not found, got %v %v", g, err)
			}
			a, err := s.Ancestry(ctx, c.who, "component", "default", "svc-a")
			if err != nil {
				t.Fatal(err)
			}
			root := ""
			if a.Root != nil {
				root = a.Root.Ref()
			}
			if a.Entity == nil || a.Entity.Ref != "component:default/svc-a" || root != c.wantRoot {
				t.Errorf("Ancestry: entity %v, root %q; want root %q", a.Entity, root, c.wantRoot)
			}
		})
	}
}

// TestETagFollowsServedRelations: an entity's etag is that of the
// relations served to the caller: alice, who may not read secret-b, is
// served svc-a without its relation to it and so with another etag than
// bob, alike by ref, in a page and by refs; bob's is the store's.
func TestETagFollowsServedRelations(t *testing.T) {
	ctx := context.Background()
	const svc = "component:default/svc-a"
	s, st, _ := testService(t, true)
	stored, err := st.EntityByRef(ctx, svc)
	if err != nil {
		t.Fatal(err)
	}
	etags := func(who auth.Identity) (string, []store.Relation) {
		t.Helper()
		e, err := s.EntityByRef(ctx, who, svc)
		if err != nil {
			t.Fatal(err)
		}
		page, err := s.Query(ctx, who, store.Query{Filter: store.Filter{{{Key: "metadata.name", Values: []string{"svc-a"}}}}, Limit: 10})
		if err != nil || len(page.Entities) != 1 {
			t.Fatalf("page: %v, %v", page.Entities, err)
		}
		es, err := s.EntitiesByRefs(ctx, who, []string{svc})
		if err != nil || es[0] == nil {
			t.Fatalf("by refs: %v, %v", es, err)
		}
		if page.Entities[0].ETag != e.ETag || es[0].ETag != e.ETag {
			t.Fatalf("%s: etag by ref %s, in a page %s, by refs %s", who.Ref, e.ETag, page.Entities[0].ETag, es[0].ETag)
		}
		return e.ETag, e.Relations
	}
	aliceTag, aliceRels := etags(alice)
	bobTag, bobRels := etags(bob)
	if len(aliceRels) >= len(bobRels) {
		t.Fatalf("alice is served %d relations, bob %d: the test needs one pruned", len(aliceRels), len(bobRels))
	}
	if bobTag != stored.ETag || aliceTag == bobTag || aliceTag != store.ServedETag(stored.Hash, aliceRels) {
		t.Fatalf("etags: alice %s, bob %s, stored %s", aliceTag, bobTag, stored.ETag)
	}
}
