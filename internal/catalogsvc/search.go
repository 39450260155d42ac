package catalogsvc

import (
	"context"
	"fmt"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// Search runs q for who: the policy must let who search at all
// (search.query), and the engine is handed what who may read — entities
// for entity results, and for docs results the entities whose docs who
// may read — so results, numberOfResults and facets never show what who
// may not read. q.Access and q.DocsAccess are set here.
func (s *Service) Search(ctx context.Context, who auth.Identity, q store.SearchQuery) (store.SearchPage, error) {
	if s.d.Search == nil {
		return store.SearchPage{}, fmt.Errorf("%w: search is not configured", errs.ErrUnavailable)
	}
	if err := forbidden(s.decide(who, permission.SearchQuery, permission.SystemResource("search"))); err != nil {
		return store.SearchPage{}, err
	}
	access, err := s.access(who)
	if err != nil {
		return store.SearchPage{}, err
	}
	q.Access, q.DocsAccess = access, access
	if s.d.Policy != nil {
		docs, err := s.d.Policy.EntityFilter(who.Principal(), permission.DocsRead)
		if err != nil {
			return store.SearchPage{}, err
		}
		q.DocsAccess = store.And(access, docs)
	}
	return s.d.Search.Search(ctx, q)
}
