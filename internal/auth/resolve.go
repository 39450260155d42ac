package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Sign-in resolver strategies, Backstage's names where Backstage has one.
const (
	// ResolveByEmail matches the verified email to a User's
	// spec.profile.email.
	ResolveByEmail = "emailMatchingUserEntityProfileEmail"
	// ResolveByName matches the provider's login (GitHub login,
	// preferred_username) to a User's metadata.name.
	ResolveByName = "usernameMatchingUserEntityName"
	// ResolveByAnnotationPrefix + key matches the login to a User's
	// annotation, e.g. annotation:github.com/user-login.
	ResolveByAnnotationPrefix = "annotation:"
)

// maxGroupDepth bounds the walk up Group.spec.parent; maxGroups bounds the
// groups one user collects.
const (
	maxGroupDepth = 32
	maxGroups     = 1000
)

// User is who a sign-in resolved to.
type User struct {
	// Ref is the User entity's ref, e.g. user:default/alice (lower case).
	Ref string
	// Ent are the ownership refs: Ref plus every group the user is a
	// member of, directly or through Group.spec.parent.
	Ent []string
}

// Catalog is what the resolver reads of the catalog store.
type Catalog interface {
	Query(ctx context.Context, q store.Query) (store.Page, error)
	EntitiesByRefs(ctx context.Context, refs []string) ([]*store.StoredEntity, error)
}

// ResolverConfig configures a Resolver.
type ResolverConfig struct {
	// Strategies are tried in order until one finds exactly one User;
	// default [emailMatchingUserEntityProfileEmail].
	Strategies []string
	// DangerouslyAllowSignInWithoutUserInCatalog signs in a person no
	// strategy matched as user:default/<login or email local part>, owning
	// nothing but that ref.
	DangerouslyAllowSignInWithoutUserInCatalog bool
}

// Resolver maps a provider's identity to a User entity of the catalog.
type Resolver struct {
	cat        Catalog
	strategies []string
	allowNone  bool
}

// NewResolver checks the strategies; it does no I/O.
func NewResolver(cat Catalog, cfg ResolverConfig) (*Resolver, error) {
	if len(cfg.Strategies) == 0 {
		cfg.Strategies = []string{ResolveByEmail}
	}
	for _, s := range cfg.Strategies {
		if err := CheckResolverStrategy(s); err != nil {
			return nil, err
		}
	}
	return &Resolver{cat: cat, strategies: slices.Clone(cfg.Strategies), allowNone: cfg.DangerouslyAllowSignInWithoutUserInCatalog}, nil
}

// CheckResolverStrategy says whether s names a resolver strategy.
func CheckResolverStrategy(s string) error {
	switch {
	case s == ResolveByEmail, s == ResolveByName:
		return nil
	case strings.HasPrefix(s, ResolveByAnnotationPrefix):
		key := strings.TrimPrefix(s, ResolveByAnnotationPrefix)
		if key == "" || strings.ContainsAny(key, " \t\n") {
			return errs.Invalid("resolver %q: name the annotation, e.g. annotation:github.com/user-login", s)
		}
		return nil
	}
	return errs.Invalid("unknown sign-in resolver %q: use %s, %s or annotation:<key>", s, ResolveByEmail, ResolveByName)
}

// Resolve finds the one User entity the identity matches and collects its
// ownership refs. No match, or two matches, is refused with a message naming
// what was looked up.
func (r *Resolver) Resolve(ctx context.Context, id ProviderIdentity) (User, error) {
	var tried []string
	for _, s := range r.strategies {
		key, value := lookup(s, id)
		if value == "" {
			tried = append(tried, fmt.Sprintf("%s: the %s identity has no %s", s, id.Provider, claimOf(s)))
			continue
		}
		page, err := r.cat.Query(ctx, store.Query{Limit: 2, Filter: store.Filter{{
			{Key: "kind", Values: []string{"user"}},
			{Key: key, Values: []string{strings.ToLower(value)}},
		}}})
		if err != nil {
			return User{}, fmt.Errorf("resolve sign-in: look up %s: %w", key, err)
		}
		switch {
		case page.TotalItems > 1 || len(page.Entities) > 1:
			return User{}, errs.Unauthenticated("sign-in refused: %d User entities have %s = %s; it must name one", max(page.TotalItems, len(page.Entities)), key, value)
		case len(page.Entities) == 1:
			u := page.Entities[0]
			ent, err := r.groups(ctx, u)
			if err != nil {
				return User{}, err
			}
			return User{Ref: strings.ToLower(u.Ref), Ent: ent}, nil
		}
		tried = append(tried, fmt.Sprintf("no User entity has %s = %s", key, value))
	}
	if r.allowNone {
		name := id.Login
		if name == "" {
			name, _, _ = strings.Cut(id.Email, "@")
		}
		if name = entityName(name); name != "" {
			ref := "user:default/" + name
			return User{Ref: ref, Ent: []string{ref}}, nil
		}
	}
	return User{}, errs.Unauthenticated("sign-in refused: %s", strings.Join(tried, "; "))
}

// Ownership re-reads a signed-in user's ownership refs from the catalog,
// as at sign-in: found is false when the catalog no longer holds the
// User entity.
func (r *Resolver) Ownership(ctx context.Context, userRef string) (ent []string, found bool, err error) {
	es, err := r.cat.EntitiesByRefs(ctx, []string{userRef})
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", userRef, err)
	}
	if len(es) == 0 || es[0] == nil {
		return nil, false, nil
	}
	ent, err = r.groups(ctx, es[0])
	return ent, err == nil, err
}

// lookup returns the search key and the identity's value a strategy matches.
func lookup(strategy string, id ProviderIdentity) (key, value string) {
	switch {
	case strategy == ResolveByEmail:
		return "spec.profile.email", id.Email
	case strategy == ResolveByName:
		return "metadata.name", id.Login
	default:
		return "metadata.annotations." + strings.ToLower(strings.TrimPrefix(strategy, ResolveByAnnotationPrefix)), id.Login
	}
}

func claimOf(strategy string) string {
	if strategy == ResolveByEmail {
		return "verified email"
	}
	return "login"
}

// groups walks memberOf, then childOf up the group tree, breadth first,
// each group once (cycles end), at most maxGroupDepth levels and maxGroups
// groups.
func (r *Resolver) groups(ctx context.Context, u *store.StoredEntity) ([]string, error) {
	self := strings.ToLower(u.Ref)
	ent := []string{self}
	seen := map[string]bool{self: true}
	next := targets(u, "memberOf", seen)
	for depth := 0; len(next) > 0 && depth < maxGroupDepth && len(ent) < maxGroups; depth++ {
		ents, err := r.cat.EntitiesByRefs(ctx, next)
		if err != nil {
			return nil, fmt.Errorf("resolve sign-in: read groups of %s: %w", self, err)
		}
		var level []string
		for i, g := range ents {
			if len(ent) >= maxGroups {
				break
			}
			// A memberOf target that is not a stored Group (dangling, or
			// another kind) grants nothing.
			if g == nil || !isGroup(g) {
				continue
			}
			ent = append(ent, next[i])
			level = append(level, targets(g, "childOf", seen)...)
		}
		next = level
	}
	return ent, nil
}

// targets returns the lower-cased group targets of u's relations of type
// typ not seen yet, marking them seen.
func targets(u *store.StoredEntity, typ string, seen map[string]bool) []string {
	var out []string
	for _, rel := range u.Relations {
		t := strings.ToLower(rel.Target)
		if rel.Type != typ || !strings.HasPrefix(t, "group:") || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	return out
}

func isGroup(e *store.StoredEntity) bool {
	var k struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(e.Body, &k) == nil && strings.EqualFold(k.Kind, "group")
}

// entityName makes a login or email local part a valid entity name
// (letters, digits, - _ .; at most 63), or "" when nothing is left.
func entityName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.':
			b.WriteRune(r)
		default:
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-_.")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-_.")
	}
	return out
}
