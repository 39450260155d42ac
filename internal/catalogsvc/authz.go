package catalogsvc

import (
	"context"
	"strings"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// This file is where the catalog's authorization is decided: every
// operation of the service asks through these.

// access is what who may read, for a list's SQL (nil without a policy:
// everything).
func (s *Service) access(who auth.Identity) (*store.Expr, error) {
	if s.d.Policy == nil {
		return nil, nil
	}
	return s.d.Policy.EntityFilter(who.Principal(), permission.EntityRead)
}

// decide asks the policy about one resource (allowed without a policy).
func (s *Service) decide(who auth.Identity, action string, res permission.Resource) permission.Decision {
	if s.d.Policy == nil {
		return permission.Decision{Allowed: true}
	}
	return s.d.Policy.Authorize(who.Principal(), action, res)
}

// mayEntity decides action on a stored entity; an entity whose body cannot
// be read is denied.
func (s *Service) mayEntity(who auth.Identity, action string, e *store.StoredEntity) permission.Decision {
	if s.d.Policy == nil {
		return permission.Decision{Allowed: true}
	}
	res, err := permission.StoredResource(e)
	if err != nil {
		return permission.Decision{Reason: err.Error()}
	}
	return s.d.Policy.Authorize(who.Principal(), action, res)
}

// mayLocation decides action on a location.
func (s *Service) mayLocation(who auth.Identity, action string, l store.Location) permission.Decision {
	return s.decide(who, action, permission.LocationResource(l.ID, l.Type, l.Target))
}

// forbidden is a denial as errs.ErrForbidden with the decision's reason
// (nil when d allows).
func forbidden(d permission.Decision) error {
	if d.Allowed {
		return nil
	}
	return errs.Forbidden("%s", d.Reason)
}

// readable hides what who may not read: an unreadable entity turns into
// the not-found error given (existence does not leak), and the relations
// of a readable one lose their unreadable targets.
func (s *Service) readable(ctx context.Context, who auth.Identity, e *store.StoredEntity, err error, notFound error) (*store.StoredEntity, error) {
	if err != nil || s.d.Policy == nil {
		return e, err
	}
	if !s.mayEntity(who, permission.EntityRead, e).Allowed {
		return nil, notFound
	}
	if err := s.pruneRelations(ctx, who, []*store.StoredEntity{e}); err != nil {
		return nil, err
	}
	return e, nil
}

// pruneRelations drops, from each entity, the relations whose target who
// may not read. A target that does not exist is kept (it reveals
// nothing). The hidden targets come from the set the caller's access
// predicate hides at the generation the entities were read at, when it is
// known (hiddenSets); else they are decided in one query.
func (s *Service) pruneRelations(ctx context.Context, who auth.Identity, es []*store.StoredEntity) error {
	if s.d.Policy == nil {
		return nil
	}
	// The policy's translated read filter decides (proven equal to the
	// policy's decisions, and conservative where a condition cannot be
	// translated).
	access, err := s.access(who)
	if err != nil {
		return err
	}
	if access.IsTrue() { // who reads everything
		return nil
	}
	hidden, known := s.hidden.lookup(ctx, s.d.Store, s.d.Logger, access, pageGen(es))
	if known && len(hidden) == 0 {
		return nil
	}
	// The distinct targets' keys, for the store to decide.
	var refs []string
	seen := map[string]bool{}
	for _, e := range es {
		if e == nil {
			continue
		}
		for _, r := range e.Relations {
			key := relationKey(r.Target)
			if !seen[key] {
				seen[key] = true
				refs = append(refs, key)
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	if !known {
		if hidden, err = s.d.Store.HiddenRefs(ctx, refs, access); err != nil {
			return err
		}
	}
	if len(hidden) == 0 {
		return nil
	}
	// es may hold an entity twice (by refs asked for one ref twice): each
	// relation's key is worked out again here, not read from a list the
	// first visit's pruning would put out of step.
	for _, e := range es {
		if e == nil {
			continue
		}
		kept := e.Relations[:0:0]
		for _, r := range e.Relations {
			// A target that is not stored is not hidden: it reveals
			// nothing.
			if !hidden[relationKey(r.Target)] {
				kept = append(kept, r)
			}
		}
		if len(kept) < len(e.Relations) {
			// The etag is the served relations' (store.ServedETag).
			e.ETag = store.ServedETag(e.Hash, kept)
		}
		e.Relations = kept
	}
	return nil
}

// relationKey is the store key of a relation's target ref (lower-cased,
// as the store compares keys, when it is not a ref).
func relationKey(target string) string {
	if r, err := catalog.ParseRef(target, "", catalog.DefaultNamespace); err == nil {
		return r.Key()
	}
	return strings.ToLower(target)
}

// MaySystem says whether the policy lets who do action on a system
// resource (Rigger::System::"<name>": the audit log, the payload codec),
// and whether there is a policy to ask at all. The API decides system
// routes through here, so no interface asks the policy on its own.
func (s *Service) MaySystem(who auth.Identity, action, name string) (allowed, policy bool) {
	if s.d.Policy == nil {
		return false, false
	}
	return s.d.Policy.Authorize(who.Principal(), action, permission.SystemResource(name)).Allowed, true
}
