package api

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/workflows"
)

// CatalogDeps configure the catalog API.
type CatalogDeps struct {
	Store store.Store
	// RefreshInterval is passed to the refresh loops the API starts.
	RefreshInterval time.Duration
	// AllowFileLocations lets callers register file locations (dev only:
	// on a server it would let anyone read files on the host).
	AllowFileLocations bool
	// Limits are catalog.limits (zero: catalog.DefaultLimits); validate-entity
	// applies them.
	Limits catalog.Limits
}

// catalogLimits are the configured limits, or the defaults.
func (s *Server) catalogLimits() catalog.Limits {
	if s.deps.Catalog.Limits == (catalog.Limits{}) {
		return catalog.DefaultLimits()
	}
	return s.deps.Catalog.Limits
}

func (s *Server) catalogRoutes(g *gin.RouterGroup) {
	g.GET("/entities", s.listEntities)
	g.GET("/entities/by-query", s.queryEntities)
	g.POST("/entities/by-refs", s.entitiesByRefs)
	g.GET("/entities/by-name/:kind/:namespace/:name", s.entityByName)
	g.GET("/entities/by-name/:kind/:namespace/:name/ancestry", s.entityAncestry)
	g.GET("/entities/by-uid/:uid", s.entityByUID)
	g.DELETE("/entities/by-uid/:uid", s.deleteEntity)
	g.GET("/entity-facets", s.entityFacets)
	g.GET("/locations", s.listLocations)
	g.POST("/locations", s.limitDryRun, s.addLocation)
	g.POST("/analyze-location", s.fetches.limit("analyze-location"), s.analyzeLocation)
	g.GET("/locations/:id", s.getLocation)
	g.GET("/locations/:id/status", s.locationStatus)
	g.DELETE("/locations/:id", s.deleteLocation)
	g.GET("/locations/by-entity/:kind/:namespace/:name", s.locationByEntity)
	g.POST("/refresh", s.refreshEntity)
	g.POST("/validate-entity", s.validateEntity)
}

// render builds the wire entity: stored body plus uid, etag and relations.
func render(e *store.StoredEntity) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(e.Body, &m); err != nil {
		return nil, fmt.Errorf("stored entity %s: %w", e.Ref, err)
	}
	md, _ := m["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		m["metadata"] = md
	}
	md["uid"], md["etag"] = e.UID, e.ETag
	if e.Orphan {
		ann, _ := md["annotations"].(map[string]any)
		if ann == nil {
			ann = map[string]any{}
			md["annotations"] = ann
		}
		ann["backstage.io/orphan"] = "true"
	}
	rels := make([]map[string]any, 0, len(e.Relations))
	for _, r := range e.Relations {
		rels = append(rels, map[string]any{"type": r.Type, "targetRef": r.Target})
	}
	m["relations"] = rels
	return m, nil
}

func renderAll(es []*store.StoredEntity, fields []string) ([]any, error) {
	out := make([]any, len(es))
	for i, e := range es {
		if e == nil {
			continue
		}
		m, err := render(e)
		if err != nil {
			return nil, err
		}
		out[i] = catalog.ApplyFields(m, fields)
	}
	return out, nil
}

// fieldsParam reads `fields`, repeated or comma-separated.
func fieldsParam(c *gin.Context) []string {
	var out []string
	for _, f := range c.QueryArray("fields") {
		for _, p := range strings.Split(f, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func intParam(c *gin.Context, name string, def, lo, hi int) (int, error) {
	v := c.Query(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, errs.Invalid("%s must be a whole number between %d and %d", name, lo, hi)
	}
	return n, nil
}

// orderParams reads Backstage's order (GET /entities: "asc:field") or
// orderField ("field,asc") parameters.
func orderParams(c *gin.Context, name string) ([]store.Order, error) {
	var out []store.Order
	for _, v := range c.QueryArray(name) {
		var field, dir string
		if name == "order" {
			dir, field, _ = strings.Cut(v, ":")
		} else {
			field, dir, _ = strings.Cut(v, ",")
		}
		field = strings.TrimSpace(field)
		if field == "" {
			return nil, errs.Invalid("%s %q names no field", name, v)
		}
		switch strings.ToLower(dir) {
		case "", "asc":
			out = append(out, store.Order{Field: field})
		case "desc":
			out = append(out, store.Order{Field: field, Desc: true})
		default:
			return nil, errs.Invalid("%s %q: direction must be asc or desc", name, v)
		}
	}
	return out, nil
}

func (s *Server) listEntities(c *gin.Context) {
	f, err := catalog.ParseFilter(c.QueryArray("filter"))
	if err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	limit, err := intParam(c, "limit", store.MaxLimit, 1, store.MaxLimit)
	if err != nil {
		writeError(c, err)
		return
	}
	offset, err := intParam(c, "offset", 0, 0, 1<<30)
	if err != nil {
		writeError(c, err)
		return
	}
	order, err := orderParams(c, "order")
	if err != nil {
		writeError(c, err)
		return
	}
	q := store.Query{Filter: f, Limit: limit, Offset: offset, Order: order}
	if after := c.Query("after"); after != "" {
		cur, err := decodeCursor(after)
		if err != nil {
			writeError(c, err)
			return
		}
		q.Filter, q.Order, q.After, q.Offset = cur.Filter, cur.Order, &cur.Pos, 0
	}
	page, ok := s.queryReadable(c, q)
	if !ok {
		return
	}
	items, err := renderAll(page.Entities, fieldsParam(c))
	if err != nil {
		writeError(c, err)
		return
	}
	if page.HasMore && page.Last != nil {
		next, _ := encodeCursor(cursor{Filter: q.Filter, Order: q.Order, Pos: *page.Last})
		c.Header("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", c.Request.URL.Path, nextPageQuery(c.Request.URL.Query(), next)))
	}
	c.Set(readCountKey, len(items))
	c.JSON(http.StatusOK, items)
}

// cursor is the opaque by-query cursor: the query it continues and where.
type cursor struct {
	Filter    store.Filter   `json:"f,omitempty"`
	Order     []store.Order  `json:"o,omitempty"`
	FullText  string         `json:"t,omitempty"`
	Fields    []string       `json:"tf,omitempty"`
	Pos       store.Position `json:"p"`
	Backwards bool           `json:"b,omitempty"`
	Total     int            `json:"n,omitempty"`
}

func encodeCursor(cur cursor) (string, error) {
	b, err := json.Marshal(cur)
	return base64.RawURLEncoding.EncodeToString(b), err
}

func decodeCursor(s string) (cursor, error) {
	var cur cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 64<<10 || json.Unmarshal(b, &cur) != nil {
		return cursor{}, errs.Invalid("malformed cursor")
	}
	return cur, nil
}

// queryReadable runs q limited to what the caller may read (in SQL, so
// paging and totalItems count only those) and drops relations to
// unreadable entities; it writes the error itself (ok false).
func (s *Server) queryReadable(c *gin.Context, q store.Query) (store.Page, bool) {
	access, err := s.entityAccess(c)
	if err != nil {
		writeError(c, err)
		return store.Page{}, false
	}
	q.Access = access
	page, err := s.deps.Catalog.Store.Query(c.Request.Context(), q)
	if err == nil {
		err = s.pruneRelations(c, page.Entities)
	}
	if err != nil {
		writeError(c, err)
		return store.Page{}, false
	}
	return page, true
}

func (s *Server) queryEntities(c *gin.Context) {
	limit, err := intParam(c, "limit", 20, 0, store.MaxLimit)
	if err != nil {
		writeError(c, err)
		return
	}
	var q store.Query
	if raw := c.Query("cursor"); raw != "" {
		cur, err := decodeCursor(raw)
		if err != nil {
			writeError(c, err)
			return
		}
		q = store.Query{Filter: cur.Filter, Order: cur.Order, FullText: cur.FullText, FullTextFields: cur.Fields}
		pos := cur.Pos
		if cur.Backwards {
			q.Before = &pos
		} else {
			q.After = &pos
		}
	} else {
		f, err := catalog.ParseFilter(c.QueryArray("filter"))
		if err != nil {
			writeError(c, errs.Invalid("%v", err))
			return
		}
		order, err := orderParams(c, "orderField")
		if err != nil {
			writeError(c, err)
			return
		}
		q = store.Query{Filter: f, Order: order, FullText: c.Query("fullTextFilterTerm")}
		for _, ff := range c.QueryArray("fullTextFilterFields") {
			q.FullTextFields = append(q.FullTextFields, strings.Split(ff, ",")...)
		}
	}
	fields := fieldsParam(c)
	if limit == 0 {
		q.Limit = 1
		page, ok := s.queryReadable(c, q)
		if !ok {
			return
		}
		c.JSON(http.StatusOK, gin.H{"items": []any{}, "totalItems": page.TotalItems, "pageInfo": gin.H{}})
		return
	}
	q.Limit = limit
	page, ok := s.queryReadable(c, q)
	if !ok {
		return
	}
	items, err := renderAll(page.Entities, fields)
	if err != nil {
		writeError(c, err)
		return
	}
	base := cursor{Filter: q.Filter, Order: q.Order, FullText: q.FullText, Fields: q.FullTextFields, Total: page.TotalItems}
	pageInfo := gin.H{}
	backwards := q.Before != nil
	// Forward: more rows after the last one; backwards: we came from a later page.
	if page.Last != nil && ((!backwards && page.HasMore) || backwards) {
		next := base
		next.Pos = *page.Last
		pageInfo["nextCursor"], _ = encodeCursor(next)
	}
	if page.First != nil && ((backwards && page.HasMore) || (!backwards && q.After != nil)) {
		prev := base
		prev.Pos, prev.Backwards = *page.First, true
		pageInfo["prevCursor"], _ = encodeCursor(prev)
	}
	c.Set(readCountKey, len(items))
	c.JSON(http.StatusOK, gin.H{"items": items, "totalItems": page.TotalItems, "pageInfo": pageInfo})
}

func (s *Server) entitiesByRefs(c *gin.Context) {
	var req struct {
		EntityRefs []string `json:"entityRefs"`
		Fields     []string `json:"fields"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, errs.Invalid("request body: %v", err))
		return
	}
	if len(req.EntityRefs) > store.MaxLimit {
		writeError(c, errs.Invalid("at most %d entityRefs per request", store.MaxLimit))
		return
	}
	refs := make([]string, len(req.EntityRefs))
	for i, r := range req.EntityRefs {
		ref, err := catalog.ParseRef(r, "", catalog.DefaultNamespace)
		if err != nil {
			writeError(c, errs.Invalid("entityRefs[%d]: %v", i, err))
			return
		}
		refs[i] = ref.Key()
	}
	es, err := s.deps.Catalog.Store.EntitiesByRefs(c.Request.Context(), refs)
	if err != nil {
		writeError(c, err)
		return
	}
	// Unreadable entities come back as null, like missing ones.
	for i, e := range es {
		if e != nil && !s.mayEntity(c, permission.EntityRead, e).Allowed {
			es[i] = nil
		}
	}
	if err := s.pruneRelations(c, es); err != nil {
		writeError(c, err)
		return
	}
	fields := req.Fields
	if len(fields) == 0 {
		fields = fieldsParam(c)
	}
	items, err := renderAll(es, fields)
	if err != nil {
		writeError(c, err)
		return
	}
	found := 0
	for _, e := range es {
		if e != nil {
			found++
		}
	}
	c.Set(readCountKey, found)
	c.JSON(http.StatusOK, gin.H{"items": items})
}

func nameRef(c *gin.Context) string {
	return catalog.Ref{Kind: c.Param("kind"), Namespace: c.Param("namespace"), Name: c.Param("name")}.Key()
}

// renderedEntity renders a looked-up entity, or writes the lookup's error
// (ok false).
func renderedEntity(c *gin.Context, e *store.StoredEntity, err error) (map[string]any, bool) {
	if err == nil {
		var m map[string]any
		if m, err = render(e); err == nil {
			return m, true
		}
	}
	writeError(c, err)
	return nil, false
}

// writeEntity answers with one rendered entity, or the lookup's error.
func writeEntity(c *gin.Context, e *store.StoredEntity, err error) {
	if m, ok := renderedEntity(c, e, err); ok {
		c.Set(readCountKey, 1)
		c.JSON(http.StatusOK, m)
	}
}

// entityByRef looks an entity up for the caller: one it may not read is
// not found, with the store's own message.
func (s *Server) entityByRef(c *gin.Context, ref string) (*store.StoredEntity, error) {
	e, err := s.deps.Catalog.Store.EntityByRef(c.Request.Context(), ref)
	return s.readable(c, e, err, errs.NotFound("no entity named %q", ref))
}

func (s *Server) entityByName(c *gin.Context) {
	e, err := s.entityByRef(c, nameRef(c))
	if errors.Is(err, errs.ErrNotFound) {
		if loc, name, ok := s.generatedLocation(c); ok {
			c.JSON(http.StatusOK, locationEntity(loc, name))
			return
		}
	}
	writeEntity(c, e, err)
}

// generatedLocation finds the location whose generated Location entity
// (location:default/generated-<sha1>, the root ancestry names) the request's
// kind, namespace and name address, so that the root ancestry names exists.
func (s *Server) generatedLocation(c *gin.Context) (store.Location, string, bool) {
	name := strings.ToLower(c.Param("name"))
	if !strings.EqualFold(c.Param("kind"), "location") || !strings.EqualFold(c.Param("namespace"), "default") ||
		!strings.HasPrefix(name, "generated-") {
		return store.Location{}, "", false
	}
	locs, err := s.deps.Catalog.Store.ListLocations(c.Request.Context())
	if err != nil {
		return store.Location{}, "", false
	}
	for _, l := range locs {
		if locationEntityName(l) == name && s.decide(c, permission.LocationRead, locationResource(l)).Allowed {
			return l, name, true
		}
	}
	return store.Location{}, "", false
}

// nextPageQuery is the query of the next page's link: the request's own
// parameters (limit, fields, filter, order, ...) with after set to the next
// cursor and offset dropped (the cursor carries the position).
func nextPageQuery(q url.Values, after string) string {
	next := url.Values{}
	for k, v := range q {
		if k != "after" && k != "offset" {
			next[k] = v
		}
	}
	next.Set("after", after)
	return next.Encode()
}

// entityAncestry answers Backstage's ancestry: the entity, and above it the
// Location entity of the location it was read from (as Backstage names
// the Location it generates for a registered target:
// location:default/generated-<sha1 of "type:target">), which is the root.
// An orphan (no location left) is its own root.
func (s *Server) entityAncestry(c *gin.Context) {
	ctx := c.Request.Context()
	e, err := s.entityByRef(c, nameRef(c))
	if errors.Is(err, errs.ErrNotFound) {
		if loc, name, ok := s.generatedLocation(c); ok {
			ref := "location:default/" + name
			c.JSON(http.StatusOK, gin.H{"rootEntityRef": ref, "items": []gin.H{{"entity": locationEntity(loc, name), "parentEntityRefs": []string{}}}})
			return
		}
	}
	m, ok := renderedEntity(c, e, err)
	if !ok {
		return
	}
	root := e.Ref
	items := []gin.H{{"entity": m, "parentEntityRefs": []string{}}}
	loc, err := s.deps.Catalog.Store.LocationOfEntity(ctx, e.Ref)
	if err != nil && !errors.Is(err, errs.ErrNotFound) {
		writeError(c, err)
		return
	}
	// The location (its target URL) is shown only to who may read it.
	if err == nil && s.decide(c, permission.LocationRead, locationResource(loc)).Allowed {
		name := locationEntityName(loc)
		if ref := "location:default/" + name; ref != e.Ref {
			root = ref
			items[0]["parentEntityRefs"] = []string{ref}
			items = append(items, gin.H{"entity": locationEntity(loc, name), "parentEntityRefs": []string{}})
		}
	}
	c.JSON(http.StatusOK, gin.H{"rootEntityRef": root, "items": items})
}

// locationEntityName is the name Backstage gives the Location entity it
// generates for a registered location.
func locationEntityName(l store.Location) string {
	sum := sha1.Sum([]byte(l.Type + ":" + l.Target))
	return "generated-" + hex.EncodeToString(sum[:])
}

// locationEntity is that generated Location entity.
func locationEntity(l store.Location, name string) gin.H {
	return gin.H{
		"apiVersion": "backstage.io/v1alpha1", "kind": "Location",
		"metadata": gin.H{"name": name, "namespace": "default", "annotations": gin.H{
			"backstage.io/managed-by-location":        l.Type + ":" + l.Target,
			"backstage.io/managed-by-origin-location": l.Type + ":" + l.Target,
		}},
		"spec": gin.H{"type": l.Type, "target": l.Target},
	}
}

// analyzeLocation serves POST /analyze-location ({location: {type,
// target}}): it reads the location as if registered and lists the entity
// files found, each marked registered or not. Rigger generates no entities
// for repositories that have none (generateEntities is always empty).
func (s *Server) analyzeLocation(c *gin.Context) {
	var req struct {
		Location struct {
			Type   string `json:"type"`
			Target string `json:"target"`
		} `json:"location"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || strings.TrimSpace(req.Location.Target) == "" {
		writeError(c, errs.Invalid("body must be {\"location\": {\"type\": \"url\", \"target\": \"https://...\"}}"))
		return
	}
	typ, target := req.Location.Type, strings.TrimSpace(req.Location.Target)
	if typ == "" {
		typ = "url"
	}
	if err := s.checkLocationType(typ); err != nil {
		writeError(c, err)
		return
	}
	res, err := s.analyze(c, typ, target)
	if err != nil {
		writeError(c, err)
		return
	}
	files := []gin.H{}
	for _, raw := range res.Entities {
		var ent map[string]any
		if json.Unmarshal(raw, &ent) != nil {
			continue
		}
		_, err := s.entityByRef(c, catalog.Entity(ent).Ref().Key())
		registered := err == nil
		files = append(files, gin.H{"location": gin.H{"type": typ, "target": target}, "isRegistered": registered, "entity": ent})
	}
	c.JSON(http.StatusOK, gin.H{"existingEntityFiles": files, "generateEntities": []any{}})
}

// entityByUIDFor is EntityByUID for the caller (see entityByRef).
func (s *Server) entityByUIDFor(c *gin.Context, uid string) (*store.StoredEntity, error) {
	e, err := s.deps.Catalog.Store.EntityByUID(c.Request.Context(), uid)
	return s.readable(c, e, err, errs.NotFound("no entity with uid %q", uid))
}

func (s *Server) entityByUID(c *gin.Context) {
	e, err := s.entityByUIDFor(c, c.Param("uid"))
	writeEntity(c, e, err)
}

func (s *Server) deleteEntity(c *gin.Context) {
	if s.deps.Policy != nil {
		e, err := s.entityByUIDFor(c, c.Param("uid"))
		if err != nil {
			writeError(c, err)
			return
		}
		if forbid(c, s.mayEntity(c, permission.EntityDelete, e)) {
			return
		}
	}
	if err := s.deps.Catalog.Store.DeleteEntity(c.Request.Context(), c.Param("uid")); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "catalog.entity.delete", "entity-uid:"+c.Param("uid"), nil)
	c.Status(http.StatusNoContent)
}

func (s *Server) entityFacets(c *gin.Context) {
	facets := c.QueryArray("facet")
	if len(facets) == 0 || len(facets) > 50 {
		writeError(c, errs.Invalid("give between 1 and 50 facet parameters"))
		return
	}
	f, err := catalog.ParseFilter(c.QueryArray("filter"))
	if err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	access, err := s.entityAccess(c)
	if err != nil {
		writeError(c, err)
		return
	}
	out, err := s.deps.Catalog.Store.FacetsAccess(c.Request.Context(), f, access, facets)
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"facets": out})
}

type locationJSON struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Target string `json:"target"`
}

func locJSON(l store.Location) locationJSON { return locationJSON{l.ID, l.Type, l.Target} }

func (s *Server) listLocations(c *gin.Context) {
	ls, err := s.deps.Catalog.Store.ListLocations(c.Request.Context())
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]gin.H, 0, len(ls))
	for _, l := range ls {
		if s.decide(c, permission.LocationRead, locationResource(l)).Allowed {
			out = append(out, gin.H{"data": locJSON(l)})
		}
	}
	c.JSON(http.StatusOK, out)
}

func locationResource(l store.Location) permission.Resource {
	return permission.LocationResource(l.ID, l.Type, l.Target)
}

// location looks a location up for the caller: one it may not read is not
// found.
func (s *Server) location(c *gin.Context, id string) (store.Location, error) {
	l, err := s.deps.Catalog.Store.GetLocation(c.Request.Context(), id)
	if err == nil && !s.decide(c, permission.LocationRead, locationResource(l)).Allowed {
		return store.Location{}, errs.NotFound("no location with id %q", id)
	}
	return l, err
}

func (s *Server) getLocation(c *gin.Context) {
	l, err := s.location(c, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, locJSON(l))
}

// locationStatus is rigger's own addition: the outcome of the last refresh.
func (s *Server) locationStatus(c *gin.Context) {
	l, err := s.location(c, c.Param("id"))
	if err != nil {
		writeError(c, err)
		return
	}
	var at any
	if !l.LastRefresh.IsZero() {
		at = l.LastRefresh
	}
	c.JSON(http.StatusOK, gin.H{"id": l.ID, "lastRefresh": at, "lastError": l.LastError})
}

func (s *Server) addLocation(c *gin.Context) {
	var req struct {
		Type   string `json:"type"`
		Target string `json:"target"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		writeError(c, errs.Invalid("request body: %v", err))
		return
	}
	if req.Type == "" {
		req.Type = "url"
	}
	req.Target = strings.TrimSpace(req.Target)
	switch {
	case req.Target == "":
		writeError(c, errs.Invalid("target is required"))
		return
	}
	if err := s.checkLocationType(req.Type); err != nil {
		writeError(c, err)
		return
	}
	if forbid(c, s.decide(c, permission.LocationCreate, permission.LocationResource("", req.Type, req.Target))) {
		return
	}
	if c.Query("dryRun") == "true" {
		s.dryRunLocation(c, req.Type, req.Target)
		return
	}
	// An existing location answers 409 (the store's ErrConflict), as Backstage does.
	l, err := s.deps.Catalog.Store.AddLocation(c.Request.Context(), store.Location{Type: req.Type, Target: req.Target})
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.startRefresh(c, l.ID); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "catalog.location.create", "location:"+l.ID, map[string]string{"type": l.Type, "target": redactURL(l.Target)})
	c.JSON(http.StatusCreated, gin.H{"location": locJSON(l), "entities": []any{}})
}

// limitDryRun rate-limits registrations with ?dryRun=true, which fetch
// like analyze-location does.
func (s *Server) limitDryRun(c *gin.Context) {
	if c.Query("dryRun") == "true" {
		s.fetches.limit("a dry-run registration")(c)
		return
	}
	c.Next()
}

// checkLocationType refuses location types callers may not register.
func (s *Server) checkLocationType(typ string) error {
	switch {
	case typ == "file" && !s.deps.Catalog.AllowFileLocations:
		return errs.Invalid("file locations can only be configured in rigger.yaml (catalog.locations), not registered through the API")
	case typ != "url" && typ != "file" && typ != "git":
		return errs.Invalid("location type %q is not supported (url, git as https://host/repo.git#path, or file in rigger dev)", typ)
	}
	return nil
}

// dryRunLocation reads a location through a short workflow (the API does no
// reading itself) and answers with its entities, storing nothing.
func (s *Server) dryRunLocation(c *gin.Context, typ, target string) {
	res, err := s.analyze(c, typ, target)
	if err != nil {
		writeError(c, err)
		return
	}
	ctx := c.Request.Context()
	exists := false
	if ls, err := s.deps.Catalog.Store.ListLocations(ctx); err == nil {
		for _, l := range ls {
			if l.Type == typ && l.Target == target {
				exists = true
			}
		}
	}
	entities := res.Entities
	if entities == nil {
		entities = []json.RawMessage{}
	}
	c.JSON(http.StatusCreated, gin.H{"location": gin.H{"id": "", "type": typ, "target": target}, "entities": entities, "exists": exists, "truncated": res.Truncated})
}

// analyze reads a location through a short workflow (the API does no
// reading itself): its entities, nothing stored; problems are errors.
func (s *Server) analyze(c *gin.Context, typ, target string) (*contract.CatalogAnalyzeResult, error) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Minute)
	defer cancel()
	run, err := s.deps.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "catalog-analyze-" + uuid.NewString(), TaskQueue: contract.QueueDefault, WorkflowExecutionTimeout: 3 * time.Minute,
	}, workflows.CatalogAnalyzeName, contract.CatalogAnalyzeInput{Type: typ, Target: target})
	if err != nil {
		s.deps.Logger.Error("start catalog dry run", "error", err)
		return nil, fmt.Errorf("start dry run: %w", errs.ErrUnavailable)
	}
	var res contract.CatalogAnalyzeResult
	if err := run.Get(ctx, &res); err != nil {
		return nil, errs.Invalid("reading %s: %v", target, err)
	}
	if len(res.Errors) > 0 {
		return nil, errs.Invalid("%s", strings.Join(res.Errors, "\n"))
	}
	return &res, nil
}

// startRefresh starts (or, if running, signals) the location's refresh loop.
func (s *Server) startRefresh(c *gin.Context, locationID string) error {
	_, err := s.deps.Temporal.SignalWithStartWorkflow(c.Request.Context(), workflows.CatalogWorkflowID(locationID),
		workflows.CatalogRefreshSignal, nil,
		client.StartWorkflowOptions{ID: workflows.CatalogWorkflowID(locationID), TaskQueue: contract.QueueDefault},
		workflows.CatalogRefreshName, workflows.CatalogRefreshInput{LocationID: locationID, Interval: s.deps.Catalog.RefreshInterval})
	if err != nil {
		s.deps.Logger.Error("start catalog refresh", "location", locationID, "error", err)
		return fmt.Errorf("start refresh: %w", errs.ErrUnavailable)
	}
	return nil
}

func (s *Server) deleteLocation(c *gin.Context) {
	id := c.Param("id")
	if s.deps.Policy != nil {
		l, err := s.location(c, id)
		if err != nil {
			writeError(c, err)
			return
		}
		if forbid(c, s.decide(c, permission.LocationDelete, locationResource(l))) {
			return
		}
	}
	if err := s.deps.Catalog.Store.DeleteLocation(c.Request.Context(), id); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "catalog.location.delete", "location:"+id, nil)
	err := s.deps.Temporal.TerminateWorkflow(c.Request.Context(), workflows.CatalogWorkflowID(id), "", "location deleted")
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		s.deps.Logger.Warn("stop catalog refresh", "location", id, "error", err)
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) locationByEntity(c *gin.Context) {
	if _, err := s.entityByRef(c, nameRef(c)); err != nil && s.deps.Policy != nil {
		writeError(c, errs.NotFound("no location owns entity %q", nameRef(c)))
		return
	}
	l, err := s.deps.Catalog.Store.LocationOfEntity(c.Request.Context(), nameRef(c))
	if err != nil {
		writeError(c, err)
		return
	}
	c.JSON(http.StatusOK, locJSON(l))
}

func (s *Server) refreshEntity(c *gin.Context) {
	var req struct {
		EntityRef string `json:"entityRef"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.EntityRef == "" {
		writeError(c, errs.Invalid("body must be {\"entityRef\": \"kind:namespace/name\"}"))
		return
	}
	ref, err := catalog.ParseRef(req.EntityRef, "", catalog.DefaultNamespace)
	if err != nil {
		writeError(c, errs.Invalid("entityRef: %v", err))
		return
	}
	if s.deps.Policy != nil {
		e, err := s.entityByRef(c, ref.Key())
		if err != nil {
			writeError(c, err)
			return
		}
		if forbid(c, s.mayEntity(c, permission.EntityRefresh, e)) {
			return
		}
	}
	l, err := s.deps.Catalog.Store.LocationOfEntity(c.Request.Context(), ref.Key())
	if err != nil {
		writeError(c, err)
		return
	}
	if err := s.startRefresh(c, l.ID); err != nil {
		writeError(c, err)
		return
	}
	c.Status(http.StatusOK)
}

func (s *Server) validateEntity(c *gin.Context) {
	var raw struct {
		Entity   json.RawMessage `json:"entity"`
		Location string          `json:"location"`
	}
	var entity map[string]any
	bad := errs.Invalid("body must be {\"entity\": {...}, \"location\": \"...\"}")
	if err := c.ShouldBindJSON(&raw); err != nil || len(raw.Entity) == 0 {
		writeError(c, bad)
		return
	}
	// The catalog's limits (size, depth, string length) before any Go
	// value of the entity is built, as for a location's files.
	if err := catalog.CheckJSONLimits(raw.Entity, s.catalogLimits()); err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	if err := json.Unmarshal(raw.Entity, &entity); err != nil || entity == nil {
		writeError(c, bad)
		return
	}
	probs := catalog.Validate(catalog.Entity(entity))
	if len(probs) == 0 {
		if _, rp := catalog.Relations(catalog.Entity(entity)); len(rp) > 0 {
			probs = rp
		}
	}
	if len(probs) == 0 {
		c.Status(http.StatusOK)
		return
	}
	list := make([]gin.H, 0, len(probs))
	msgs := make([]string, 0, len(probs))
	for _, p := range probs {
		list = append(list, gin.H{"name": "InputError", "message": p.Error()})
		msgs = append(msgs, p.Error())
	}
	c.JSON(http.StatusBadRequest, gin.H{"errors": list, "error": gin.H{"name": "InputError", "message": strings.Join(msgs, "; ")}})
}
