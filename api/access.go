package api

import (
	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// principal is the request's caller as the policy sees it.
func (s *Server) principal(c *gin.Context) permission.Principal {
	return identity(c).Principal()
}

// entityAccess is what the caller may read, for a list's SQL (nil without
// a policy: everything).
func (s *Server) entityAccess(c *gin.Context) (*store.Expr, error) {
	if s.deps.Policy == nil {
		return nil, nil
	}
	return s.deps.Policy.EntityFilter(s.principal(c), permission.EntityRead)
}

// decide asks the policy about one resource (allowed without a policy).
func (s *Server) decide(c *gin.Context, action string, res permission.Resource) permission.Decision {
	if s.deps.Policy == nil {
		return permission.Decision{Allowed: true}
	}
	return s.deps.Policy.Authorize(s.principal(c), action, res)
}

// mayEntity decides action on a stored entity; an entity whose body cannot
// be read is denied.
func (s *Server) mayEntity(c *gin.Context, action string, e *store.StoredEntity) permission.Decision {
	if s.deps.Policy == nil {
		return permission.Decision{Allowed: true}
	}
	res, err := permission.StoredResource(e)
	if err != nil {
		return permission.Decision{Reason: err.Error()}
	}
	return s.deps.Policy.Authorize(s.principal(c), action, res)
}

// readable hides what the caller may not read: an unreadable entity turns
// into the store's not-found error (existence does not leak), and the
// relations of a readable one lose their unreadable targets.
func (s *Server) readable(c *gin.Context, e *store.StoredEntity, err error, notFound error) (*store.StoredEntity, error) {
	if err != nil || s.deps.Policy == nil {
		return e, err
	}
	if !s.mayEntity(c, permission.EntityRead, e).Allowed {
		return nil, notFound
	}
	if err := s.pruneRelations(c, []*store.StoredEntity{e}); err != nil {
		return nil, err
	}
	return e, nil
}

// pruneRelations drops, from each entity, the relations whose target the
// caller may not read. The targets are loaded in one batch and decided
// once each; a target that does not exist is kept (it reveals nothing).
func (s *Server) pruneRelations(c *gin.Context, es []*store.StoredEntity) error {
	if s.deps.Policy == nil {
		return nil
	}
	var refs []string
	seen := map[string]bool{}
	for _, e := range es {
		if e == nil {
			continue
		}
		for _, r := range e.Relations {
			if key := relationKey(r.Target); !seen[key] {
				seen[key] = true
				refs = append(refs, key)
			}
		}
	}
	if len(refs) == 0 {
		return nil
	}
	// One query decides every target with the policy's translated read
	// filter (proven equal to the policy's decisions, and conservative
	// where a condition cannot be translated).
	access, err := s.entityAccess(c)
	if err != nil {
		return err
	}
	readable, err := s.deps.Catalog.Store.ReadableRefs(c.Request.Context(), refs, access)
	if err != nil {
		return err
	}
	for _, e := range es {
		if e == nil {
			continue
		}
		kept := e.Relations[:0:0]
		for _, r := range e.Relations {
			// A target that is not stored is kept: it reveals nothing.
			if ok, stored := readable[relationKey(r.Target)]; ok || !stored {
				kept = append(kept, r)
			}
		}
		e.Relations = kept
	}
	return nil
}

// relationKey is the store key of a relation's target ref.
func relationKey(target string) string {
	if r, err := catalog.ParseRef(target, "", catalog.DefaultNamespace); err == nil {
		return r.Key()
	}
	return target
}

// forbid answers 403 with the decision's reason when it denies.
func forbid(c *gin.Context, d permission.Decision) bool {
	if d.Allowed {
		return false
	}
	writeError(c, errs.Forbidden("%s", d.Reason))
	return true
}
