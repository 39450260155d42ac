package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// fakeSignIn is a fake at the sign-in boundary (the providers are not
// part of these tests): X-Test-User names one of the users below.
type fakeSignIn map[string]auth.Identity

func (f fakeSignIn) Authenticate(r *http.Request) (auth.Identity, error) {
	if id, ok := f[r.Header.Get("X-Test-User")]; ok {
		return id, nil
	}
	return auth.Identity{}, errs.Unauthenticated("unknown test user")
}

// policyCatalog is the catalog the permission tests share: team-a's svc-a
// and svc-a2, team-b's sensitive secret-b that svc-a depends on.
func policyCatalog(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../internal/catalog/testdata/policy/catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// policyServer serves policyCatalog under the default policy to alice
// (team-a), to carol of the platform team and to a server's read-only
// guest.
func policyServer(t *testing.T) (*Server, store.Store) {
	t.Helper()
	base, _ := catalogServer(t, policyCatalog(t))
	pol, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	users := fakeSignIn{
		"alice": {Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}},
		"carol": {Ref: "user:default/carol", Ent: []string{"user:default/carol", "group:default/platform-team"}},
		"guest": {Ref: auth.GuestRef, Guest: true, Via: "guest"},
	}
	st := base.deps.Catalog.Store
	return New(Deps{Logger: discardLogger(), Auth: users, Catalog: CatalogDeps{Store: st}, Policy: pol}), st
}

func call(t *testing.T, srv *Server, user, method, path, body string, out any) int {
	t.Helper()
	rec := httptest.NewRecorder()
	req := loopbackRequest(method, path, strings.NewReader(body))
	req.Header.Set("X-Test-User", user)
	req.Header.Set("Content-Type", "application/json")
	srv.engine.ServeHTTP(rec, req)
	if out != nil && rec.Code < 300 {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, rec.Body)
		}
	}
	if out != nil && rec.Code >= 300 {
		if p, ok := out.(*string); ok {
			*p = rec.Body.String()
		}
	}
	return rec.Code
}

type wireEntity struct {
	Metadata struct {
		Name string `json:"name"`
		UID  string `json:"uid"`
	} `json:"metadata"`
	Kind      string `json:"kind"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

func names(es []wireEntity) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Metadata.Name)
	}
	slices.Sort(out)
	return out
}

// TestPolicyHidesSensitiveEntities: alice (team-a) cannot see team-b's
// sensitive entity anywhere — get (404, as if missing), list, by-query
// (totalItems and cursors), by-refs (null), facets, relations — and
// cannot act on it; carol of the platform team sees it everywhere.
func TestPolicyHidesSensitiveEntities(t *testing.T) {
	srv, st := policyServer(t)
	secret, err := st.EntityByRef(context.Background(), "component:default/secret-b")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user string
		sees bool
	}{{"alice", false}, {"carol", true}} {
		t.Run(c.user, func(t *testing.T) {
			var one wireEntity
			code := call(t, srv, c.user, "GET", "/api/catalog/entities/by-name/component/default/secret-b", "", &one)
			if (code == http.StatusOK) != c.sees || (!c.sees && code != http.StatusNotFound) {
				t.Errorf("by-name: %d", code)
			}
			if code := call(t, srv, c.user, "GET", "/api/catalog/entities/by-uid/"+secret.UID, "", nil); (code == http.StatusOK) != c.sees {
				t.Errorf("by-uid: %d", code)
			}
			if code := call(t, srv, c.user, "GET", "/api/catalog/entities/by-name/component/default/secret-b/ancestry", "", nil); (code == http.StatusOK) != c.sees {
				t.Errorf("ancestry: %d", code)
			}

			var list []wireEntity
			call(t, srv, c.user, "GET", "/api/catalog/entities?filter=kind=component", "", &list)
			if got := slices.Contains(names(list), "secret-b"); got != c.sees || len(list) < 2 {
				t.Errorf("list: %v", names(list))
			}

			// by-query one item at a time: totalItems and the cursors see
			// only readable entities.
			want := 2
			if c.sees {
				want = 3
			}
			var seen []wireEntity
			next := "/api/catalog/entities/by-query?filter=kind=component&limit=1"
			for next != "" {
				var page struct {
					Items      []wireEntity `json:"items"`
					TotalItems int          `json:"totalItems"`
					PageInfo   struct {
						NextCursor string `json:"nextCursor"`
					} `json:"pageInfo"`
				}
				if code := call(t, srv, c.user, "GET", next, "", &page); code != http.StatusOK {
					t.Fatalf("by-query: %d", code)
				}
				if page.TotalItems != want {
					t.Errorf("totalItems %d, want %d", page.TotalItems, want)
				}
				seen = append(seen, page.Items...)
				next = ""
				if page.PageInfo.NextCursor != "" {
					next = "/api/catalog/entities/by-query?limit=1&cursor=" + url.QueryEscape(page.PageInfo.NextCursor)
				}
				if len(seen) > 5 {
					t.Fatal("cursor loop")
				}
			}
			if len(seen) != want || slices.Contains(names(seen), "secret-b") != c.sees {
				t.Errorf("by-query pages: %v", names(seen))
			}

			var refs struct {
				Items []*wireEntity `json:"items"`
			}
			call(t, srv, c.user, "POST", "/api/catalog/entities/by-refs", `{"entityRefs":["component:default/secret-b","component:default/svc-a"]}`, &refs)
			if len(refs.Items) != 2 || (refs.Items[0] != nil) != c.sees || refs.Items[1] == nil {
				t.Errorf("by-refs: %+v", refs.Items)
			}

			var facets struct {
				Facets map[string][]store.FacetCount `json:"facets"`
			}
			call(t, srv, c.user, "GET", "/api/catalog/entity-facets?facet=kind&facet=spec.owner", "", &facets)
			counts := map[string]int{}
			for _, f := range facets.Facets["kind"] {
				counts[f.Value] = f.Count
			}
			for _, f := range facets.Facets["spec.owner"] {
				counts["owner="+f.Value] = f.Count
			}
			if counts["Component"] != want || (counts["owner=team-b"] == 1) != c.sees {
				t.Errorf("facets: %v", counts)
			}

			// svc-a dependsOn secret-b: the relation is dropped for alice.
			var svc wireEntity
			call(t, srv, c.user, "GET", "/api/catalog/entities/by-name/component/default/svc-a", "", &svc)
			has := false
			for _, r := range svc.Relations {
				has = has || r.TargetRef == "component:default/secret-b"
			}
			if has != c.sees || len(svc.Relations) == 0 {
				t.Errorf("relations of svc-a: %+v", svc.Relations)
			}
			for _, e := range list {
				for _, r := range e.Relations {
					if !c.sees && r.TargetRef == "component:default/secret-b" {
						t.Errorf("list: %s keeps a relation to secret-b", e.Metadata.Name)
					}
				}
			}

			// Acting on it: alice is told it does not exist.
			var msg string
			code = call(t, srv, c.user, "POST", "/api/catalog/refresh", `{"entityRef":"component:default/secret-b"}`, &msg)
			if !c.sees && (code != http.StatusNotFound || !strings.Contains(msg, "no entity named")) {
				t.Errorf("refresh: %d %s", code, msg)
			}
		})
	}
}

// TestPolicyForbidsWithReason: the server's read-only guest reads
// non-sensitive entities and never reaches a mutating route (401 before
// the policy); a policy that lets only the platform team register
// locations refuses alice with a 403 naming the policy and its line.
func TestPolicyForbidsWithReason(t *testing.T) {
	srv, st := policyServer(t)
	var list []wireEntity
	if code := call(t, srv, "guest", "GET", "/api/catalog/entities", "", &list); code != http.StatusOK || slices.Contains(names(list), "secret-b") || len(list) == 0 {
		t.Errorf("guest list: %d %v", code, names(list))
	}
	var msg string
	if code := call(t, srv, "guest", "POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/x.yaml"}`, &msg); code != http.StatusUnauthorized {
		t.Errorf("guest registers: %d %s", code, msg)
	}

	text, err := os.ReadFile("../examples/policies/default.cedar")
	if err != nil {
		t.Fatal(err)
	}
	text = append(text, []byte(`
@id("only-platform-registers")
forbid (principal, action == Rigger::Action::"catalog.location.create", resource)
unless { principal in Rigger::Group::"group:default/platform-team" };
`)...)
	pol, err := permission.Parse("team.cedar", text)
	if err != nil {
		t.Fatal(err)
	}
	srv = New(Deps{Logger: discardLogger(), Auth: srv.deps.Auth, Catalog: CatalogDeps{Store: st}, Policy: pol})
	code := call(t, srv, "alice", "POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/x.yaml"}`, &msg)
	if code != http.StatusForbidden || !strings.Contains(msg, "only-platform-registers") || !strings.Contains(msg, "team.cedar:") {
		t.Errorf("alice registers: %d %s", code, msg)
	}
	code = call(t, srv, "carol", "POST", "/api/catalog/locations", `{"type":"url","target":"https://example.com/x.yaml"}`, &msg)
	if code == http.StatusForbidden {
		t.Errorf("carol of the platform team registers: %d %s", code, msg)
	}
	var locs []any
	if code := call(t, srv, "alice", "GET", "/api/catalog/locations", "", &locs); code != http.StatusOK || len(locs) != 2 {
		t.Errorf("alice locations (the catalog's and carol's): %d %v", code, locs)
	}
}

// TestPrincipalOf: rigger dev's guest is the local developer (a user);
// rigger server's guest is the read-only Guest.
func TestPrincipalOf(t *testing.T) {
	dev, _ := auth.Guest{}.Authenticate(nil)
	if p := dev.Principal(); p.Guest || p.Ref != auth.GuestRef || len(p.Ent) != 1 {
		t.Errorf("dev guest: %+v", p)
	}
	g := auth.Identity{Ref: auth.GuestRefReadOnly, Guest: true, Via: "guest"}
	if p := g.Principal(); !p.Guest {
		t.Errorf("server guest: %+v", p)
	}
	s := auth.Identity{Ref: "service:ci", Service: true, Scopes: []string{"catalog.read"}}
	if p := s.Principal(); !p.Service || p.Scopes[0] != "catalog.read" {
		t.Errorf("service: %+v", p)
	}
}
