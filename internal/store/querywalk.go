package store

import (
	"context"
	"fmt"
	"strings"
)

// walkBudget is how many rows, in a full-text query's order, walk tests
// one at a time before it leaves the page to sortedPage. A text that most
// entities contain ("s", "svc-0", "Service ") fills a page within the
// first rows, where sorting every match took ~1 s at 100k entities; a rare
// one ("svc-042000") matches few rows, which sortedPage sorts cheaply, and
// costs the walk's budget on top.
const walkBudget = 2048

// walkColumn is the entity column, kept in order by an index, that order
// (one field) sorts by; "" when there is none.
func walkColumn(order []Order) string {
	if len(order) != 1 {
		return ""
	}
	switch strings.ToLower(order[0].Field) {
	case "", "ref":
		return "e.ref"
	case "metadata.name":
		return "e.name"
	}
	return ""
}

// walk answers a full-text query whose order is one indexed column by
// walking the entities that pass its filter and access, in order from pos,
// and testing the text on each until limit+1 match: the page sortedPage
// would give, without reading every match. It reports false (and the
// caller sorts) when the text is blank, the order is not walkable, the
// query pages by offset, or walkBudget rows hold too few matches.
//
// The walk and the read of the page's entities are separate statements:
// an entity deleted in between is left out of the page, as a later read
// would.
func (s *SQL) walk(ctx context.Context, qu Query, order []Order, pos *Position, backwards bool) ([]positioned, bool, error) {
	want := qu.Limit + 1
	col := walkColumn(order)
	if col == "" || strings.TrimSpace(qu.FullText) == "" || (pos == nil && qu.Offset > 0) || want*8 > walkBudget {
		return nil, false, nil
	}
	desc := order[0].Desc != backwards
	type hit struct {
		id  int64
		pos Position
	}
	var hits []hit
	at := pos
	for examined, chunk := 0, 4*want; examined < walkBudget; chunk *= 4 {
		n := min(chunk, walkBudget-examined)
		var q sqlBuilder
		q.add("SELECT e.id, " + col + ", e.uid, CASE WHEN ")
		fullTextCond(&q, qu.FullText, qu.FullTextFields, true)
		q.add(" THEN 1 ELSE 0 END FROM entities e WHERE ")
		where(&q, qu.Filter, qu.Access, "", nil)
		if at != nil {
			q.add(fmt.Sprintf(" AND (%s %s ? OR (%s = ? AND e.uid %s ?))", col, cmpOp(order[0].Desc, backwards), col, cmpOp(false, backwards)),
				at.Values[0], at.Values[0], at.UID)
		}
		q.add(fmt.Sprintf(" ORDER BY %s %s, e.uid %s LIMIT ?", col, dir(desc), dir(backwards)), n)
		rows, err := s.cachedQuery(ctx, q.b.String(), q.args...)
		if err != nil {
			return nil, false, err
		}
		read := 0
		for len(hits) < want && rows.Next() {
			var h hit
			var value string
			var match int
			if err := rows.Scan(&h.id, &value, &h.pos.UID, &match); err != nil {
				rows.Close()
				return nil, false, err
			}
			read++
			h.pos.Values = []string{value}
			at = &h.pos
			if match == 1 {
				hits = append(hits, h)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, false, err
		}
		examined += read
		if len(hits) < want && read == n {
			continue // more rows to walk
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
	return nil, false, nil
}

// entitiesByID reads the entities of ids (at most a few hundred) by their
// integer id.
func (s *SQL) entitiesByID(ctx context.Context, ids []int64) (map[int64]*StoredEntity, error) {
	out := make(map[int64]*StoredEntity, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.db.QueryContext(ctx, s.q("SELECT "+entityCols+", e.id FROM entities e WHERE e.id IN ("+placeholders(len(ids))+")"), anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		e, err := scanEntity(rows, &id)
		if err != nil {
			return nil, err
		}
		out[id] = e
	}
	return out, rows.Err()
}
