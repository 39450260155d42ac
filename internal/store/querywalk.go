package store

import (
	"context"
	"fmt"
	"strings"
)

// walkSpan is how many entities, in name order from the page's position,
// walk tests one at a time before it leaves the page to sortedPage. A text
// that most entities contain ("s", "svc-0", "Service ") fills a page within
// the first few rows, where sorting every match took ~1 s at 100k
// entities; a rare one ("svc-042000") matches few rows, which sortedPage
// sorts cheaply, and costs the span's walk on top (~2 ms).
const walkSpan = 2048

// walkKind is the one kind a filter keeps ("" for any kind) and whether
// walk can follow an index for it: no filter, or one alternative holding a
// single-valued kind condition (other conditions are fine: the span is
// bounded by rows read, not rows kept).
func walkKind(f Filter) (kind string, ok bool) {
	if len(f) == 0 {
		return "", true
	}
	if len(f) > 1 {
		return "", false
	}
	for _, c := range f[0] {
		if strings.EqualFold(c.Key, "kind") {
			if len(c.Values) != 1 || kind != "" {
				return "", false
			}
			kind = strings.ToLower(c.Values[0])
		}
	}
	return kind, true
}

// walk answers a full-text query ordered by metadata.name by walking the
// next walkSpan entities of its kind (or of any kind) in name order from
// pos — an index range (entities_kind_name, entities_name) — and testing
// filter, access and text on each: the first limit+1 matches are the page
// sortedPage would give, without reading every match. It reports false
// (and the caller sorts) when the dialect does not walk (WalkFullText),
// the query has no text, another order, offset paging or more than one
// kind, or when the span holds too few matches.
//
// The walk and the read of the page's entities are separate statements:
// an entity deleted in between is left out of the page, as a later read
// would.
func (s *SQL) walk(ctx context.Context, qu Query, order []Order, pos *Position, backwards bool) ([]positioned, bool, error) {
	want := qu.Limit + 1
	kind, ok := walkKind(qu.Filter)
	if !s.d.WalkFullText || !ok || strings.TrimSpace(qu.FullText) == "" || len(order) != 1 || !strings.EqualFold(order[0].Field, "metadata.name") ||
		(pos == nil && qu.Offset > 0) || want*4 > walkSpan {
		return nil, false, nil
	}
	desc := order[0].Desc != backwards
	// The walk names its index (SQLite's syntax): not knowing how many
	// rows the text matches, the planner preferred reading and sorting
	// every entity (~150 ms at 100k).
	index := "entities_name"
	if kind != "" {
		index = "entities_kind_name"
	}
	from := " FROM entities e INDEXED BY " + index + " "
	// The span's far end: the name walkSpan rows on (none: the walk
	// reaches the end and is complete whatever it finds).
	bound := s.builder()
	bound.add("SELECT e.name" + from + "WHERE 1=1")
	span := func(q *sqlBuilder) {
		if kind != "" {
			q.add(" AND e.kind = ?", kind)
		}
		if pos != nil {
			// A range the index serves, then the exact position.
			q.add(fmt.Sprintf(" AND e.name %s= ? AND (e.name %s ? OR e.uid %s ?)", cmpOp(order[0].Desc, backwards), cmpOp(order[0].Desc, backwards), cmpOp(false, backwards)),
				pos.Values[0], pos.Values[0], pos.UID)
		}
	}
	span(&bound)
	bound.add(fmt.Sprintf(" ORDER BY e.name %s LIMIT 1 OFFSET %d", dir(desc), walkSpan-1))
	var end *string
	rows, err := s.cachedQuery(ctx, bound.b.String(), bound.args...)
	if err != nil {
		return nil, false, err
	}
	if rows.Next() {
		end = new(string)
		err = rows.Scan(end)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return nil, false, err
	}

	q := s.builder()
	q.add("SELECT e.id, e.name, e.uid" + from + "WHERE ")
	where(&q, qu.Filter, qu.Access, "", nil)
	q.add(" AND ")
	fullTextCond(&q, qu.FullText, qu.FullTextFields, true)
	span(&q)
	if end != nil {
		q.add(fmt.Sprintf(" AND e.name %s= ?", cmpOp(!order[0].Desc, backwards)), *end)
	}
	q.add(fmt.Sprintf(" ORDER BY e.name %s, e.uid %s LIMIT %d", dir(desc), dir(backwards), want))
	rows, err = s.cachedQuery(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, false, err
	}
	type hit struct {
		id  int64
		pos Position
	}
	var hits []hit
	for rows.Next() {
		var h hit
		var name string
		if err := rows.Scan(&h.id, &name, &h.pos.UID); err != nil {
			rows.Close()
			return nil, false, err
		}
		h.pos.Values = []string{name}
		hits = append(hits, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(hits) < want && end != nil {
		return nil, false, nil // too few in the span: sortedPage finds the rest
	}
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	byID, err := s.entitiesByID(ctx, ids)
	if err != nil {
		return nil, false, err
	}
	got := make([]positioned, 0, len(hits))
	for _, h := range hits {
		if e := byID[h.id]; e != nil {
			got = append(got, positioned{e, h.pos})
		}
	}
	return got, true, nil
}

// entitiesByID reads the entities of ids (at most a few hundred) by their
// integer id.
func (s *SQL) entitiesByID(ctx context.Context, ids []int64) (map[int64]*StoredEntity, error) {
	out := make(map[int64]*StoredEntity, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+s.cols+", e.id FROM entities e WHERE e.id IN ("+placeholders(len(ids))+")"), anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var id int64
	scan := s.newEntityScan(&id)
	for rows.Next() {
		e, err := scan.scan(rows)
		if err != nil {
			return nil, err
		}
		out[id] = e
	}
	return out, rows.Err()
}
