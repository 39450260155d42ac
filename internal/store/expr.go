package store

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
	switch len(out.Args) {
	case 0:
		return False()
	case 1:
		return out.Args[0]
	}
	return out
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
		cond(q, e.Cond)
	}
}
