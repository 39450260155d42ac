package catalogsvc

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// Query runs q limited to what who may read (in SQL, so paging and
// totalItems count only those) and drops relations to unreadable
// entities. q.Access is set by the service.
func (s *Service) Query(ctx context.Context, who auth.Identity, q store.Query) (store.Page, error) {
	access, err := s.access(who)
	if err != nil {
		return store.Page{}, err
	}
	q.Access, q.Hidden = access, nil
	if !access.IsTrue() {
		// What access hid at the last generation read (the store keeps
		// it only for a page read at that generation).
		q.Hidden, _ = s.hidden.known(access)
	}
	page, err := s.d.Store.Query(ctx, q)
	if err != nil {
		return store.Page{}, err
	}
	gen := pageGen(page.Entities)
	if q.CountOnly {
		gen = page.Gen
	}
	if q.Hidden != nil && gen != 0 && gen != q.Hidden.Gen {
		// The catalog moved past the set: the store ran the page
		// twice. Until the set is read again, pages test access.
		s.hidden.outdated(access, q.Hidden.Gen)
	}
	if q.CountOnly && !access.IsTrue() {
		// A page learns the set when it prunes its relations; a count
		// alone (a client polling limit=0) starts reading it here, so
		// that its next counts need not test access on each match.
		s.hidden.lookup(ctx, s.d.Store, s.d.Logger, access, gen)
	}
	if err := s.pruneRelations(ctx, who, page.Entities); err != nil {
		return store.Page{}, err
	}
	return page, nil
}

// EntitiesByRefs returns one slot per ref (store keys, as catalog.Ref.Key
// gives; at most store.MaxLimit), nil where the entity is missing or who
// may not read it.
func (s *Service) EntitiesByRefs(ctx context.Context, who auth.Identity, refs []string) ([]*store.StoredEntity, error) {
	if len(refs) > store.MaxLimit {
		return nil, errs.Invalid("at most %d refs per request", store.MaxLimit)
	}
	es, err := s.d.Store.EntitiesByRefs(ctx, refs)
	if err != nil {
		return nil, err
	}
	// Unreadable entities come back as nil, like missing ones.
	for i, e := range es {
		if e != nil && !s.mayEntity(who, permission.EntityRead, e).Allowed {
			es[i] = nil
		}
	}
	if err := s.pruneRelations(ctx, who, es); err != nil {
		return nil, err
	}
	return es, nil
}

// EntityByRef looks an entity up by its store key for who: one it may not
// read is not found, with the store's own message.
func (s *Service) EntityByRef(ctx context.Context, who auth.Identity, ref string) (*store.StoredEntity, error) {
	e, err := s.d.Store.EntityByRef(ctx, ref)
	return s.readable(ctx, who, e, err, errs.NotFound("no entity named %q", ref))
}

// EntityByUID is EntityByRef by uid.
func (s *Service) EntityByUID(ctx context.Context, who auth.Identity, uid string) (*store.StoredEntity, error) {
	e, err := s.d.Store.EntityByUID(ctx, uid)
	return s.readable(ctx, who, e, err, errs.NotFound("no entity with uid %q", uid))
}

// nameKey is the store key of kind, namespace and name.
func nameKey(kind, namespace, name string) string {
	return catalog.Ref{Kind: kind, Namespace: namespace, Name: name}.Key()
}

// EntityByName looks an entity up by kind, namespace and name for who.
// Where no entity (readable by who) has that name but it is the name of
// the Location entity a location generates (see GeneratedLocation), that
// is returned instead (entity nil).
func (s *Service) EntityByName(ctx context.Context, who auth.Identity, kind, namespace, name string) (*store.StoredEntity, *GeneratedLocation, error) {
	e, err := s.EntityByRef(ctx, who, nameKey(kind, namespace, name))
	if errors.Is(err, errs.ErrNotFound) {
		if g, ok := s.generatedLocation(ctx, who, kind, namespace, name); ok {
			return nil, g, nil
		}
	}
	return e, nil, err
}

// Ancestry is an entity and the root above it.
type Ancestry struct {
	// Entity is the entity asked for; nil when the name asked for is a
	// location's generated Location entity, which is then Root.
	Entity *store.StoredEntity
	// Root is the generated Location entity of the location Entity was read
	// from, when who may read that location and it is not Entity itself
	// (nil: Entity is its own root, e.g. an orphan).
	Root *GeneratedLocation
}

// Ancestry answers Backstage's ancestry of the entity kind, namespace and
// name: the entity, and above it the Location entity of the location it
// was read from, which is the root.
func (s *Service) Ancestry(ctx context.Context, who auth.Identity, kind, namespace, name string) (Ancestry, error) {
	e, g, err := s.EntityByName(ctx, who, kind, namespace, name)
	if err != nil || g != nil {
		return Ancestry{Root: g}, err
	}
	loc, err := s.d.Store.LocationOfEntity(ctx, e.Ref)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		return Ancestry{}, err
	}
	a := Ancestry{Entity: e}
	// The location (its target URL) is shown only to who may read it.
	if err == nil && s.mayLocation(who, permission.LocationRead, loc).Allowed {
		if name := generatedName(loc); generatedRef(name) != e.Ref {
			a.Root = &GeneratedLocation{Location: loc, Name: name}
		}
	}
	return a, nil
}

// DeleteEntity deletes the entity with uid, if who may.
func (s *Service) DeleteEntity(ctx context.Context, who auth.Identity, uid string) error {
	if s.d.Policy != nil {
		e, err := s.EntityByUID(ctx, who, uid)
		if err != nil {
			return err
		}
		if err := forbidden(s.mayEntity(who, permission.EntityDelete, e)); err != nil {
			return err
		}
	}
	return s.d.Store.DeleteEntity(ctx, uid)
}

// MaxFacets is how many facets one Facets call counts.
const MaxFacets = 50

// Facets counts the values of facets (1 to MaxFacets) among the entities
// f matches that who may read.
func (s *Service) Facets(ctx context.Context, who auth.Identity, f store.Filter, facets []string) (map[string][]store.FacetCount, error) {
	if len(facets) == 0 || len(facets) > MaxFacets {
		return nil, errs.Invalid("give between 1 and %d facets", MaxFacets)
	}
	access, err := s.access(who)
	if err != nil {
		return nil, err
	}
	return s.d.Store.FacetsAccess(ctx, f, access, facets)
}

// RefreshEntity refreshes the location the entity ref (a store key) was
// read from, if who may refresh the entity.
func (s *Service) RefreshEntity(ctx context.Context, who auth.Identity, ref string) error {
	if s.d.Policy != nil {
		e, err := s.EntityByRef(ctx, who, ref)
		if err != nil {
			return err
		}
		if err := forbidden(s.mayEntity(who, permission.EntityRefresh, e)); err != nil {
			return err
		}
	}
	l, err := s.d.Store.LocationOfEntity(ctx, ref)
	if err != nil {
		return err
	}
	return s.startRefresh(ctx, l.ID)
}

// ErrNotEntity: what ValidateEntity was given is not a JSON object.
var ErrNotEntity = errs.Invalid("the entity is not a JSON object")

// ValidateEntity checks an entity's JSON as a location's file would be
// checked: the catalog's limits (size, depth, string length) before any Go
// value of it is built, then its fields and relations under catalog.model.
// It returns the problems found; the error is ErrNotEntity, or the limits'
// (ErrInvalid).
func (s *Service) ValidateEntity(raw json.RawMessage) ([]catalog.FieldError, error) {
	if err := catalog.CheckJSONLimits(raw, s.d.Limits); err != nil {
		return nil, errs.Invalid("%v", err)
	}
	var entity map[string]any
	if err := json.Unmarshal(raw, &entity); err != nil || entity == nil {
		return nil, ErrNotEntity
	}
	probs := catalog.ValidateWith(catalog.Entity(entity), catalog.Policy{Model: s.d.Model})
	if len(probs) == 0 {
		if _, rp := s.d.Model.Relations(catalog.Entity(entity)); len(rp) > 0 {
			probs = rp
		}
	}
	return probs, nil
}
