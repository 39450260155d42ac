package store

import "testing"

// TestExprSimplifies: the algebra And/Or/Not apply keeps the predicate
// equivalent while dropping conditions (each one is an index probe per
// row); the SQL meaning is proven in internal/permission's tests against
// the Cedar evaluator on SQLite and PostgreSQL.
func TestExprSimplifies(t *testing.T) {
	has, eq := Match("metadata.annotations.s"), Match("metadata.annotations.s", "true")
	owner := func(v string) *Expr { return Match("relations.ownedBy", v) }
	cases := []struct {
		got  *Expr
		want string
	}{
		{And(True(), eq), `metadata.annotations.s IN ["true"]`},
		{And(eq, False()), "FALSE"},
		{Or(False(), eq), `metadata.annotations.s IN ["true"]`},
		{Or(eq, True()), "TRUE"},
		{Not(Not(eq)), `metadata.annotations.s IN ["true"]`},
		{And(has, eq, has), `metadata.annotations.s IN ["true"]`},
		{Or(owner("a"), owner("b")), `relations.ownedBy IN ["a" "b"]`},
		// NOT has OR (has AND NOT eq) OR owner: what "unless has && eq" gives.
		{Or(Not(has), And(has, Not(eq)), owner("a")), `(NOT metadata.annotations.s IN ["true"] OR relations.ownedBy IN ["a"])`},
		{Or(Not(eq), eq), "TRUE"},
		{Or(Not(has), And(has, owner("a"))), `(NOT metadata.annotations.s EXISTS OR relations.ownedBy IN ["a"])`},
		{(*Expr)(nil), "TRUE"},
		// The same condition with its values in another order is one.
		{And(Or(Not(eq), owner("a"), owner("b")), Or(Not(eq), owner("b"), owner("a"))), `(NOT metadata.annotations.s IN ["true"] OR relations.ownedBy IN ["a" "b"])`},
	}
	for _, c := range cases {
		if s := c.got.String(); s != c.want {
			t.Errorf("got %s, want %s", s, c.want)
		}
	}
}
