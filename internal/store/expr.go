package store

import (
	"fmt"
	"slices"
	"strings"
)

// ExprOp is the kind of an Expr node.
type ExprOp int

// The kinds of Expr nodes.
const (
	ExprTrue ExprOp = iota
	ExprFalse
	ExprAnd
	ExprOr
	ExprNot
	ExprCond
)

// Expr is a predicate over entities: a tree of And, Or and Not over
// conditions (Cond: a key equals any of its values, or exists when it has
// none). The permission policy translates what a caller may read into one,
// and Query and Facets AND it into their SQL, served by the same indexes
// as Filter. The zero value is True.
type Expr struct {
	Op   ExprOp
	Args []*Expr
	Cond Cond
}

// True matches every entity.
func True() *Expr { return &Expr{Op: ExprTrue} }

// False matches none.
func False() *Expr { return &Expr{Op: ExprFalse} }

// Match is one condition (see Cond).
func Match(key string, values ...string) *Expr {
	return &Expr{Op: ExprCond, Cond: Cond{Key: key, Values: values}}
}

// And is true when every arg is; constants are folded away.
func And(args ...*Expr) *Expr {
	out := &Expr{Op: ExprAnd}
	for _, a := range args {
		switch a.op() {
		case ExprTrue:
			continue
		case ExprFalse:
			return False()
		case ExprAnd:
			out.Args = append(out.Args, a.Args...)
		default:
			out.Args = append(out.Args, a)
		}
	}
	out.Args = dedupe(out.Args)
	// Match(k, v...) implies Match(k): the bare existence test is redundant.
	valued := map[string]bool{}
	for _, a := range out.Args {
		if a.Op == ExprCond && len(a.Cond.Values) > 0 {
			valued[strings.ToLower(a.Cond.Key)] = true
		}
	}
	kept := out.Args[:0]
	for _, a := range out.Args {
		if a.Op == ExprCond && len(a.Cond.Values) == 0 && valued[strings.ToLower(a.Cond.Key)] {
			continue
		}
		kept = append(kept, a)
	}
	out.Args = kept
	switch len(out.Args) {
	case 0:
		return True()
	case 1:
		return out.Args[0]
	}
	return out
}

// Or is true when any arg is; constants are folded away.
func Or(args ...*Expr) *Expr {
	out := &Expr{Op: ExprOr}
	for _, a := range args {
		switch a.op() {
		case ExprFalse:
			continue
		case ExprTrue:
			return True()
		case ExprOr:
			out.Args = append(out.Args, a.Args...)
		default:
			out.Args = append(out.Args, a)
		}
	}
	// Conditions on one key with values merge: k IN (a) OR k IN (b).
	merged := out.Args[:0]
	at := map[string]int{}
	for _, a := range out.Args {
		if a.Op == ExprCond && len(a.Cond.Values) > 0 {
			k := strings.ToLower(a.Cond.Key)
			if i, ok := at[k]; ok {
				m := *merged[i]
				m.Cond.Values = append(append([]string(nil), m.Cond.Values...), a.Cond.Values...)
				merged[i] = &m
				continue
			}
			at[k] = len(merged)
		}
		merged = append(merged, a)
	}
	out.Args = dedupe(merged)
	for range 3 { // a pass may expose another simplification
		next := dedupe(absorb(out.Args))
		if (&Expr{Op: ExprOr, Args: next}).String() == out.String() {
			break
		}
		out.Args = next
	}
	switch len(out.Args) {
	case 0:
		return False()
	case 1:
		return out.Args[0]
	}
	return out
}

// absorb simplifies the arguments of an Or using NOT X among them:
// NOT X OR (X AND Y) is NOT X OR Y, and NOT k EXISTS is implied by NOT k IN
// (...), so it goes. Fewer conditions are fewer index probes per row.
func absorb(args []*Expr) []*Expr {
	negs := map[string]bool{}
	valued := map[string]bool{}
	for _, a := range args {
		if a.Op == ExprNot {
			negs[a.Args[0].String()] = true
			if c := a.Args[0]; c.Op == ExprCond && len(c.Cond.Values) > 0 {
				valued[strings.ToLower(c.Cond.Key)] = true
			}
		}
	}
	if len(negs) == 0 {
		return args
	}
	out := make([]*Expr, 0, len(args))
	for _, a := range args {
		if negs[a.String()] { // NOT X OR X
			return []*Expr{True()}
		}
		switch {
		case a.Op == ExprAnd:
			var rest []*Expr
			for _, x := range a.Args {
				if !negs[x.String()] {
					rest = append(rest, x)
				}
			}
			if len(rest) == 0 { // NOT X OR X
				return []*Expr{True()}
			}
			if len(rest) != len(a.Args) {
				a = And(rest...)
			}
		case a.Op == ExprNot && a.Args[0].Op == ExprCond && len(a.Args[0].Cond.Values) == 0 &&
			valued[strings.ToLower(a.Args[0].Cond.Key)]:
			continue
		}
		out = append(out, a)
	}
	return out
}

// dedupe drops arguments equal to an earlier one.
func dedupe(args []*Expr) []*Expr {
	seen := map[string]bool{}
	out := args[:0]
	for _, a := range args {
		k := a.render(true)
		if !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	return out
}

// String renders e for logs and tests, e.g. (kind IN [component] AND NOT
// metadata.tags IN [js]).
func (e *Expr) String() string { return e.render(false) }

// render is String; canonical lists each condition's values sorted (the
// same condition in any order renders the same).
func (e *Expr) render(canonical bool) string {
	switch e.op() {
	case ExprTrue:
		return "TRUE"
	case ExprFalse:
		return "FALSE"
	case ExprNot:
		return "NOT " + e.Args[0].String()
	case ExprCond:
		if len(e.Cond.Values) == 0 {
			return e.Cond.Key + " EXISTS"
		}
		values := e.Cond.Values
		if canonical {
			values = slices.Sorted(slices.Values(values))
		}
		return fmt.Sprintf("%s IN %q", e.Cond.Key, values)
	}
	sep := " AND "
	if e.Op == ExprOr {
		sep = " OR "
	}
	parts := make([]string, len(e.Args))
	for i, a := range e.Args {
		parts[i] = a.render(canonical)
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// Not negates e.
func Not(e *Expr) *Expr {
	switch e.op() {
	case ExprTrue:
		return False()
	case ExprFalse:
		return True()
	case ExprNot:
		return e.Args[0]
	}
	return &Expr{Op: ExprNot, Args: []*Expr{e}}
}

// op treats nil as True.
func (e *Expr) op() ExprOp {
	if e == nil {
		return ExprTrue
	}
	return e.Op
}

// IsTrue reports whether e is the constant True (nil included).
func (e *Expr) IsTrue() bool { return e.op() == ExprTrue }

// IsFalse reports whether e is the constant False.
func (e *Expr) IsFalse() bool { return e.op() == ExprFalse }

// expr writes e as SQL over the entities row e. Every condition is an IN
// semi-join (or a column IN list) whose subquery yields non-NULL ids, so
// NOT is plain SQL negation without three-valued surprises.
func expr(q *sqlBuilder, e *Expr) {
	switch e.op() {
	case ExprTrue:
		q.add("1=1")
	case ExprFalse:
		q.add("1=0")
	case ExprNot:
		q.add("NOT (")
		expr(q, e.Args[0])
		q.add(")")
	case ExprAnd, ExprOr:
		sep := " AND "
		if e.Op == ExprOr {
			sep = " OR "
		}
		q.add("(")
		for i, a := range e.Args {
			if i > 0 {
				q.add(sep)
			}
			expr(q, a)
		}
		q.add(")")
	case ExprCond:
		probe(q, e.Cond)
	}
}

// probe writes one access condition as a correlated lookup of the row's
// own search rows (their rowid range on SQLite, the search_entity index
// on PostgreSQL; see sqlBuilder.searchOf):
// access narrows rows a filter or the order already found, so a few index
// seeks per row beat materializing every entity that, say, has an
// annotation, on each request. relations.<type> is a lookup of the row's
// relations (relationCond): by type, target and the row's ref, one seek
// of relations_type_target per target.
func probe(q *sqlBuilder, c Cond) { probeAs(q, c, false) }

// probeAs is probe, or with semi the same condition as an IN semi-join a
// planner can start from (the rows of the search_key_value index that
// hold it), for a query whose candidates it is to find (HiddenSet).
func probeAs(q *sqlBuilder, c Cond, semi bool) {
	key, vals := strings.ToLower(c.Key), lowerAll(c.Values)
	if key == "metadata.uid" {
		// No search row holds it (StoredSearchKey): the entity's row does,
		// found by id, as e is a search document in a search's access
		// check (search_docs has no uid). Uids are case-sensitive.
		if len(c.Values) == 0 {
			q.add("1=1")
			return
		}
		q.add("e.id IN (SELECT x.id FROM entities x WHERE ")
		inList(q, "x.uid", c.Values)
		q.add(")")
		return
	}
	if columnFor(key) != "" {
		cond(q, Cond{Key: key, Values: vals})
		return
	}
	if typ, ok := relationType(key); ok {
		relationCond(q, []string{typ}, vals, "", !semi)
		return
	}
	if semi {
		q.add("e.id IN (SELECT s.entity_id FROM search s WHERE s.key = ?", key)
	} else {
		q.add("EXISTS (SELECT 1 ")
		q.searchOf("e.id")
		q.add(" AND s.key = ?", key)
	}
	if len(vals) > 0 {
		q.add(" AND ")
		inList(q, "s.value", vals)
	}
	q.add(")")
}
