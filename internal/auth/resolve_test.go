package auth

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store/storetest"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// resolverCatalog is a real SQLite catalog: users, groups nested three deep,
// a group cycle, a Group with a profile email, two users sharing an email.
const resolverCatalog = `
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: Alice@Example.com}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: bob
  annotations: {github.com/user-login: bob-gh}
spec: {profile: {email: bob@example.com}, memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: dave}
spec: {profile: {email: dave@example.com}, memberOf: [loop-a, ghost-group]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: twin1}
spec: {profile: {email: twin@example.com}, memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: twin2, namespace: other}
spec: {profile: {email: twin@example.com}, memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, parent: eng, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: eng}
spec: {type: department, parent: org, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: org}
spec: {type: organization, children: [], profile: {email: carol@example.com}}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: [], members: [bob]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: loop-a}
spec: {type: team, parent: loop-b, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: loop-b}
spec: {type: team, parent: loop-a, children: []}
`

// catalogStore loads YAML into a fresh SQLite store the way ingestion
// writes rows: validated entities, their search rows and relations.
func catalogStore(t *testing.T, yaml string) *store.SQL {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	storetest.Seed(t, st, yaml)
	return st
}

func TestResolver(t *testing.T) {
	ctx := context.Background()
	st := catalogStore(t, resolverCatalog)
	all := []string{ResolveByEmail, ResolveByName, "annotation:github.com/user-login"}
	r, err := NewResolver(st, ResolverConfig{Strategies: all})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		id      ProviderIdentity
		wantRef string
		wantEnt []string
	}{
		{"email, nested groups", ProviderIdentity{Provider: "oidc", Email: "alice@example.com"}, "user:default/alice",
			[]string{"user:default/alice", "group:default/team-a", "group:default/eng", "group:default/org"}},
		{"name", ProviderIdentity{Provider: "oidc", Login: "alice"}, "user:default/alice",
			[]string{"user:default/alice", "group:default/team-a", "group:default/eng", "group:default/org"}},
		{"annotation, membership from Group.spec.members", ProviderIdentity{Provider: "github", Login: "bob-gh"}, "user:default/bob",
			[]string{"user:default/bob", "group:default/team-b"}},
		{"group cycle and a dangling group", ProviderIdentity{Provider: "oidc", Email: "dave@example.com"}, "user:default/dave",
			[]string{"user:default/dave", "group:default/loop-a", "group:default/loop-b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, err := r.Resolve(ctx, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if u.Ref != c.wantRef || !slices.Equal(u.Ent, c.wantEnt) {
				t.Fatalf("got %+v, want %s %v", u, c.wantRef, c.wantEnt)
			}
		})
	}

	refusals := []struct {
		name string
		r    *Resolver
		id   ProviderIdentity
		want string
	}{
		{"no such user", r, ProviderIdentity{Provider: "oidc", Email: "mallory@example.com", Login: "mallory"},
			"no User entity has spec.profile.email = mallory@example.com; no User entity has metadata.name = mallory; no User entity has metadata.annotations.github.com/user-login = mallory"},
		{"two users, one email", r, ProviderIdentity{Provider: "oidc", Email: "twin@example.com"}, "2 User entities have spec.profile.email = twin@example.com"},
		{"a Group's email is no User's", r, ProviderIdentity{Provider: "oidc", Email: "carol@example.com"}, "no User entity has spec.profile.email = carol@example.com"},
		{"email only by default", mustResolver(t, st, ResolverConfig{}), ProviderIdentity{Provider: "github", Login: "alice"},
			"emailMatchingUserEntityProfileEmail: the github identity has no verified email"},
	}
	for _, c := range refusals {
		t.Run(c.name, func(t *testing.T) {
			u, err := c.r.Resolve(ctx, c.id)
			if err == nil {
				t.Fatalf("resolved to %+v", u)
			}
			wantUnauthenticated(t, err, c.want)
		})
	}

	t.Run("dangerouslyAllowSignInWithoutUserInCatalog", func(t *testing.T) {
		d := mustResolver(t, st, ResolverConfig{DangerouslyAllowSignInWithoutUserInCatalog: true})
		u, err := d.Resolve(ctx, ProviderIdentity{Provider: "oidc", Email: "Mallory.X@example.com"})
		if err != nil || u.Ref != "user:default/mallory.x" || !slices.Equal(u.Ent, []string{"user:default/mallory.x"}) {
			t.Fatalf("got %+v, %v", u, err)
		}
		// A catalog user is still resolved with its groups.
		u, err = d.Resolve(ctx, ProviderIdentity{Provider: "oidc", Email: "alice@example.com"})
		if err != nil || len(u.Ent) != 4 {
			t.Fatalf("got %+v, %v", u, err)
		}
		if _, err := d.Resolve(ctx, ProviderIdentity{Provider: "oidc", Subject: "x"}); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Fatalf("an identity with neither login nor email must be refused, got %v", err)
		}
	})
}

func mustResolver(t *testing.T, st Catalog, cfg ResolverConfig) *Resolver {
	t.Helper()
	r, err := NewResolver(st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolverStrategies(t *testing.T) {
	for _, s := range []string{"emailMatchingUserEntityProfileEmail", "usernameMatchingUserEntityName", "annotation:github.com/user-login"} {
		if err := CheckResolverStrategy(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for s, want := range map[string]string{
		"emailMatchingUserEntityEmail": "unknown sign-in resolver",
		"annotation:":                  "name the annotation",
	} {
		if _, err := NewResolver(nil, ResolverConfig{Strategies: []string{s}}); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q, got %v", s, want, err)
		}
	}
}

// TestRefreshRereadsOwnership: with Sessions.Ownership set, a refresh
// carries the user's groups as the catalog has them now: a group removed
// from the catalog is gone from the next access token, and a user removed
// from the catalog cannot refresh at all (the whole sign-in ends).
func TestRefreshRereadsOwnership(t *testing.T) {
	ctx := context.Background()
	st := catalogStore(t, resolverCatalog)
	r := mustResolver(t, st, ResolverConfig{})
	s, err := NewSessions(st, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Ownership = r.Ownership
	u, err := r.Resolve(ctx, ProviderIdentity{Provider: "oidc", Email: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	stale := append(slices.Clone(u.Ent), "group:default/removed-team")
	tok, _, err := s.Create(ctx, Identity{Ref: u.Ref, Ent: stale})
	if err != nil {
		t.Fatal(err)
	}
	id, tok, _, err := s.Refresh(ctx, tok)
	if err != nil || slices.Contains(id.Ent, "group:default/removed-team") || !slices.Contains(id.Ent, "group:default/org") {
		t.Fatalf("refresh: %+v %v; want the catalog's groups now", id, err)
	}
	// alice leaves the catalog.
	page, err := st.Query(ctx, store.Query{Limit: 1, Filter: store.Filter{{{Key: "metadata.name", Values: []string{"alice"}}}}})
	if err != nil || len(page.Entities) != 1 {
		t.Fatal(err)
	}
	if err := st.DeleteEntity(ctx, page.Entities[0].UID); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Refresh(ctx, tok); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "no longer in the catalog") {
		t.Fatalf("refresh of a removed user: %v", err)
	}
}
