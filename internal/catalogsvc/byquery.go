package catalogsvc

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Render builds the wire entity: stored body plus uid, etag and relations.
func Render(e *store.StoredEntity) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(e.Body, &m); err != nil {
		return nil, fmt.Errorf("stored entity %s: %w", e.Ref, err)
	}
	return decorate(m, e, true), nil
}

// decorate adds to m, e's decoded body (or the part of it a projection
// reads), what Render adds: uid, etag, the orphan annotation and (if
// withRelations) relations.
func decorate(m map[string]any, e *store.StoredEntity, withRelations bool) map[string]any {
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
	if !withRelations {
		return m
	}
	rels := make([]map[string]any, 0, len(e.Relations))
	for _, r := range e.Relations {
		rels = append(rels, map[string]any{"type": r.Type, "targetRef": r.Target})
	}
	m["relations"] = rels
	return m
}

// RenderAll renders es as maps, keeping only fields (all when empty); a
// nil entity stays a nil slot.
func RenderAll(es []*store.StoredEntity, fields []string) ([]any, error) {
	return renderAll(es, fields, false)
}

// RenderAllRaw is RenderAll for writing out as JSON: without fields each
// entity is a RawEntity, spliced from its stored bytes when written
// (AppendRaw), not decoded and re-encoded.
func RenderAllRaw(es []*store.StoredEntity, fields []string) ([]any, error) {
	return renderAll(es, fields, true)
}

func renderAll(es []*store.StoredEntity, fields []string, raw bool) ([]any, error) {
	out := make([]any, len(es))
	for i, e := range es {
		if e == nil {
			continue
		}
		var (
			v   any
			err error
		)
		switch {
		case len(fields) > 0:
			v, err = RenderFields(e, fields)
		case raw:
			v = RawEntity{StoredEntity: e}
		default:
			v, err = Render(e)
		}
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Cursor is the opaque by-query cursor: the query it continues and where.
type Cursor struct {
	Filter    store.Filter   `json:"f,omitempty"`
	Order     []store.Order  `json:"o,omitempty"`
	FullText  string         `json:"t,omitempty"`
	Fields    []string       `json:"tf,omitempty"`
	Pos       store.Position `json:"p"`
	Backwards bool           `json:"b,omitempty"`
	Total     int            `json:"n,omitempty"`
	// NoTotal: the first page was asked with totalItems=exclude, and so
	// are the pages it leads to.
	NoTotal bool `json:"nt,omitempty"`
}

// EncodeCursor is cur as the opaque text callers pass back.
func EncodeCursor(cur Cursor) (string, error) {
	b, err := json.Marshal(cur)
	return base64.RawURLEncoding.EncodeToString(b), err
}

// DecodeCursor reads what EncodeCursor wrote.
func DecodeCursor(s string) (Cursor, error) {
	var cur Cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 64<<10 || json.Unmarshal(b, &cur) != nil {
		return Cursor{}, errs.Invalid("malformed cursor")
	}
	return cur, nil
}

// ByQuery is Backstage's GET /entities/by-query: a first page (filters,
// order, full text) or a cursor continuing one, a page size and the fields
// to keep.
type ByQuery struct {
	// Query holds the filter, order, full text and NoTotal of a first
	// page; a Cursor replaces them.
	Query  store.Query
	Cursor string
	// Limit is the page size; 0 asks only for the total.
	Limit  int
	Fields []string
	// Raw asks for items as RenderAllRaw makes them (to be written out
	// as JSON), not maps.
	Raw bool
}

// ByQueryPage is one page of rendered entities and the cursors around it;
// TotalItems is nil when the query left it uncounted.
type ByQueryPage struct {
	Items      []any
	NextCursor string
	PrevCursor string
	TotalItems *int
}

// QueryPage runs a by-query request for who: what the REST route and the
// MCP tool answer.
func (s *Service) QueryPage(ctx context.Context, who auth.Identity, b ByQuery) (ByQueryPage, error) {
	q := b.Query
	if b.Cursor != "" {
		cur, err := DecodeCursor(b.Cursor)
		if err != nil {
			return ByQueryPage{}, err
		}
		q = store.Query{Filter: cur.Filter, Order: cur.Order, FullText: cur.FullText, FullTextFields: cur.Fields, NoTotal: cur.NoTotal}
		pos := cur.Pos
		if cur.Backwards {
			q.Before = &pos
		} else {
			q.After = &pos
		}
	}
	total := func(page store.Page) *int {
		if q.NoTotal {
			return nil
		}
		return &page.TotalItems
	}
	if b.Limit == 0 {
		q.CountOnly = true
		page, err := s.Query(ctx, who, q)
		if err != nil {
			return ByQueryPage{}, err
		}
		return ByQueryPage{Items: []any{}, TotalItems: total(page)}, nil
	}
	q.Limit = b.Limit
	page, err := s.Query(ctx, who, q)
	if err != nil {
		return ByQueryPage{}, err
	}
	items, err := renderAll(page.Entities, b.Fields, b.Raw)
	if err != nil {
		return ByQueryPage{}, err
	}
	out := ByQueryPage{Items: items, TotalItems: total(page)}
	base := Cursor{Filter: q.Filter, Order: q.Order, FullText: q.FullText, Fields: q.FullTextFields, Total: page.TotalItems, NoTotal: q.NoTotal}
	backwards := q.Before != nil
	// Forward: more rows after the last one; backwards: we came from a later page.
	if page.Last != nil && ((!backwards && page.HasMore) || backwards) {
		next := base
		next.Pos = *page.Last
		out.NextCursor, _ = EncodeCursor(next)
	}
	if page.First != nil && ((backwards && page.HasMore) || (!backwards && q.After != nil)) {
		prev := base
		prev.Pos, prev.Backwards = *page.First, true
		out.PrevCursor, _ = EncodeCursor(prev)
	}
	return out, nil
}
