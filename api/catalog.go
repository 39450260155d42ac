package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/catalogsvc"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// CatalogDeps configure the catalog API.
type CatalogDeps struct {
	Store store.Store
	// RefreshInterval is passed to the refresh loops the catalog service
	// starts.
	RefreshInterval time.Duration
	// AllowFileLocations lets callers register file locations (dev only:
	// on a server it would let anyone read files on the host).
	AllowFileLocations bool
	// Limits are catalog.limits (zero: catalog.DefaultLimits); validate-entity
	// applies them.
	Limits catalog.Limits
	// Model is catalog.model, which validate-entity applies (nil: built-in
	// kinds only).
	Model *catalog.Model
	// Docs reads built documentation sites (internal/techdocs); nil leaves
	// the /api/techdocs routes out.
	Docs catalogsvc.DocsSites
	// DocsExternal: docs are built outside (docs.builder: external).
	DocsExternal bool
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
	page, err := s.catalog.Query(c.Request.Context(), identity(c), q)
	if err != nil {
		writeError(c, err)
		return
	}
	items, err := catalogsvc.RenderAllRaw(page.Entities, fieldsParam(c))
	if err != nil {
		writeError(c, err)
		return
	}
	if page.HasMore && page.Last != nil {
		next, _ := encodeCursor(cursor{Filter: q.Filter, Order: q.Order, Pos: *page.Last})
		c.Header("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", c.Request.URL.Path, nextPageQuery(c.Request.URL.Query(), next)))
	}
	c.Set(readCountKey, len(items))
	writeItems(c, nil, items)
}

// cursor is the opaque by-query cursor (catalogsvc's).
type cursor = catalogsvc.Cursor

func encodeCursor(cur cursor) (string, error) { return catalogsvc.EncodeCursor(cur) }

func decodeCursor(s string) (cursor, error) { return catalogsvc.DecodeCursor(s) }

func (s *Server) queryEntities(c *gin.Context) {
	limit, err := intParam(c, "limit", 20, 0, store.MaxLimit)
	if err != nil {
		writeError(c, err)
		return
	}
	b := catalogsvc.ByQuery{Cursor: c.Query("cursor"), Limit: limit, Fields: fieldsParam(c), Raw: true}
	if b.Cursor == "" {
		if b.Query, err = byQueryParams(c); err != nil {
			writeError(c, err)
			return
		}
	}
	page, err := s.catalog.QueryPage(c.Request.Context(), identity(c), b)
	if err != nil {
		writeError(c, err)
		return
	}
	pageInfo := gin.H{}
	if page.NextCursor != "" {
		pageInfo["nextCursor"] = page.NextCursor
	}
	if page.PrevCursor != "" {
		pageInfo["prevCursor"] = page.PrevCursor
	}
	body := gin.H{"pageInfo": pageInfo}
	if page.TotalItems != nil {
		body["totalItems"] = *page.TotalItems
	}
	if limit > 0 {
		c.Set(readCountKey, len(page.Items))
	}
	writeItems(c, body, page.Items)
}

// byQueryParams reads a first by-query page's filter, orderField,
// fullTextFilterTerm, fullTextFilterFields and totalItems.
func byQueryParams(c *gin.Context) (store.Query, error) {
	f, err := catalog.ParseFilter(c.QueryArray("filter"))
	if err != nil {
		return store.Query{}, errs.Invalid("%v", err)
	}
	order, err := orderParams(c, "orderField")
	if err != nil {
		return store.Query{}, err
	}
	q := store.Query{Filter: f, Order: order, FullText: c.Query("fullTextFilterTerm")}
	// totalItems=exclude (Backstage's parameter) skips the count over
	// every match: a picker never shows it, and for a broad text it
	// costs more than the page.
	switch t := c.DefaultQuery("totalItems", "include"); t {
	case "include":
	case "exclude":
		q.NoTotal = true
	default:
		return store.Query{}, errs.Invalid("totalItems must be include or exclude, not %q", t)
	}
	for _, ff := range c.QueryArray("fullTextFilterFields") {
		q.FullTextFields = append(q.FullTextFields, strings.Split(ff, ",")...)
	}
	return q, nil
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
	// Unreadable entities come back as null, like missing ones.
	es, err := s.catalog.EntitiesByRefs(c.Request.Context(), identity(c), refs)
	if err != nil {
		writeError(c, err)
		return
	}
	fields := req.Fields
	if len(fields) == 0 {
		fields = fieldsParam(c)
	}
	items, err := catalogsvc.RenderAllRaw(es, fields)
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
	writeItems(c, gin.H{}, items)
}

func nameRef(c *gin.Context) string {
	return catalog.Ref{Kind: c.Param("kind"), Namespace: c.Param("namespace"), Name: c.Param("name")}.Key()
}

// nameParams are the request's kind, namespace and name as given.
func nameParams(c *gin.Context) (kind, namespace, name string) {
	return c.Param("kind"), c.Param("namespace"), c.Param("name")
}

// renderedEntity renders a looked-up entity, or writes the lookup's error
// (ok false).
func renderedEntity(c *gin.Context, e *store.StoredEntity, err error) (map[string]any, bool) {
	if err == nil {
		var m map[string]any
		if m, err = catalogsvc.Render(e); err == nil {
			return m, true
		}
	}
	writeError(c, err)
	return nil, false
}

func (s *Server) entityByName(c *gin.Context) {
	kind, namespace, name := nameParams(c)
	e, g, err := s.catalog.EntityByName(c.Request.Context(), identity(c), kind, namespace, name)
	if g != nil {
		c.JSON(http.StatusOK, g.Entity())
		return
	}
	writeEntity(c, e, err)
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
	kind, namespace, name := nameParams(c)
	a, err := s.catalog.Ancestry(c.Request.Context(), identity(c), kind, namespace, name)
	if err == nil && a.Entity == nil {
		c.JSON(http.StatusOK, gin.H{"rootEntityRef": a.Root.Ref(), "items": []gin.H{{"entity": a.Root.Entity(), "parentEntityRefs": []string{}}}})
		return
	}
	m, ok := renderedEntity(c, a.Entity, err)
	if !ok {
		return
	}
	root := a.Entity.Ref
	items := []gin.H{{"entity": m, "parentEntityRefs": []string{}}}
	if a.Root != nil {
		root = a.Root.Ref()
		items[0]["parentEntityRefs"] = []string{root}
		items = append(items, gin.H{"entity": a.Root.Entity(), "parentEntityRefs": []string{}})
	}
	c.JSON(http.StatusOK, gin.H{"rootEntityRef": root, "items": items})
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
	found, err := s.catalog.AnalyzeLocation(c.Request.Context(), identity(c), typ, target)
	if err != nil {
		writeError(c, err)
		return
	}
	files := make([]gin.H, 0, len(found))
	for _, f := range found {
		files = append(files, gin.H{"location": gin.H{"type": typ, "target": target}, "isRegistered": f.Registered, "entity": f.Entity})
	}
	c.JSON(http.StatusOK, gin.H{"existingEntityFiles": files, "generateEntities": []any{}})
}

func (s *Server) entityByUID(c *gin.Context) {
	e, err := s.catalog.EntityByUID(c.Request.Context(), identity(c), c.Param("uid"))
	writeEntity(c, e, err)
}

func (s *Server) deleteEntity(c *gin.Context) {
	if err := s.catalog.DeleteEntity(c.Request.Context(), identity(c), c.Param("uid")); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "catalog.entity.delete", "entity-uid:"+c.Param("uid"), nil)
	c.Status(http.StatusNoContent)
}

func (s *Server) entityFacets(c *gin.Context) {
	facets := c.QueryArray("facet")
	if len(facets) == 0 || len(facets) > catalogsvc.MaxFacets {
		writeError(c, errs.Invalid("give between 1 and %d facet parameters", catalogsvc.MaxFacets))
		return
	}
	f, err := catalog.ParseFilter(c.QueryArray("filter"))
	if err != nil {
		writeError(c, errs.Invalid("%v", err))
		return
	}
	out, err := s.catalog.Facets(c.Request.Context(), identity(c), f, facets)
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
	ls, err := s.catalog.Locations(c.Request.Context(), identity(c))
	if err != nil {
		writeError(c, err)
		return
	}
	out := make([]gin.H, 0, len(ls))
	for _, l := range ls {
		out = append(out, gin.H{"data": locJSON(l)})
	}
	c.JSON(http.StatusOK, out)
}

// location looks a location up for the caller: one it may not read is not
// found.
func (s *Server) location(c *gin.Context, id string) (store.Location, error) {
	return s.catalog.Location(c.Request.Context(), identity(c), id)
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
	ctx, who := c.Request.Context(), identity(c)
	if c.Query("dryRun") == "true" {
		res, err := s.catalog.DryRunLocation(ctx, who, req.Type, req.Target)
		if err != nil {
			writeError(c, err)
			return
		}
		c.JSON(http.StatusCreated, gin.H{"location": gin.H{"id": "", "type": req.Type, "target": req.Target}, "entities": res.Entities, "exists": res.Exists, "truncated": res.Truncated})
		return
	}
	// An existing location answers 409 (the store's ErrConflict), as Backstage does.
	l, err := s.catalog.AddLocation(ctx, who, req.Type, req.Target)
	if err != nil {
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

// deleteLocation deletes the location; the service also stops its
// refresh loop (before the audit event is written, unlike before the
// service layer: the event is the same).
func (s *Server) deleteLocation(c *gin.Context) {
	id := c.Param("id")
	if err := s.catalog.DeleteLocation(c.Request.Context(), identity(c), id); err != nil {
		writeError(c, err)
		return
	}
	s.audit(c, "catalog.location.delete", "location:"+id, nil)
	c.Status(http.StatusNoContent)
}

func (s *Server) locationByEntity(c *gin.Context) {
	l, err := s.catalog.LocationOfEntity(c.Request.Context(), identity(c), nameRef(c))
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
	if err := s.catalog.RefreshEntity(c.Request.Context(), identity(c), ref.Key()); err != nil {
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
	bad := errs.Invalid("body must be {\"entity\": {...}, \"location\": \"...\"}")
	if err := c.ShouldBindJSON(&raw); err != nil || len(raw.Entity) == 0 {
		writeError(c, bad)
		return
	}
	probs, err := s.catalog.ValidateEntity(raw.Entity)
	switch {
	case errors.Is(err, catalogsvc.ErrNotEntity):
		writeError(c, bad)
		return
	case err != nil:
		writeError(c, err)
		return
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
