package store

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	_ "modernc.org/sqlite" // the dialect whose rows are packed
)

// TestPackedRowsPlans: where search rows are packed (SQLite), the
// per-entity subqueries — a sort by a field, a permission probe, a
// full-text test of one entity — read that entity's rowid range, never a
// scan of the search table nor a walk of one key's rows in
// search_key_value (which made a sort by spec.owner quadratic).
func TestPackedRowsPlans(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	byRange := regexp.MustCompile(`SEARCH s (EXISTS )?USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)`)
	for name, build := range map[string]func(q *sqlBuilder){
		"sort": func(q *sqlBuilder) { q.add("SELECT e.id FROM entities e ORDER BY "); sortExpr(q, "spec.owner") },
		"probe": func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE ")
			probe(q, Cond{Key: "spec.owner", Values: []string{"group:default/a"}})
		},
		"full text": func(q *sqlBuilder) { q.add("SELECT e.id FROM entities e WHERE "); fullTextCond(q, "svc", nil, false) },
		"full text, row": func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE ")
			fullTextCond(q, "svc", []string{"metadata.title"}, true)
		},
	} {
		q := s.builder()
		build(&q)
		all := queryPlan(t, s, name, q)
		if !byRange.MatchString(all) || strings.Contains(all, "SCAN s") || strings.Contains(all, "search_key_value") {
			t.Errorf("%s: the entity's search rows are not read by rowid range:\n%s\n%s", name, q.b.String(), all)
		}
	}
}

// queryPlan is SQLite's EXPLAIN QUERY PLAN of q on s, a line per step.
func queryPlan(t *testing.T, s *SQL, name string, q sqlBuilder) string {
	t.Helper()
	rows, err := s.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q.b.String(), q.args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n")
}

// openSQLite opens a store on the SQLite file at path with the dialect
// settings of sqlite.Open that shape what these tests look at (that
// package imports this one, so its Open is not at hand here).
func openSQLite(t *testing.T, path string) *SQL {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), db, Dialect{Name: "sqlite", Rebind: func(q string) string { return q }, Migrations: Schema("sqlite"),
		SerializeWrites: true, PreparedInserts: true, PackedRows: true, CountFromSearch: true, BodyAsBytes: "CAST(%s AS BLOB)", LimitParam: "+?",
		OrFail: " OR FAIL", MaxParams: 400, FullText: FullTextSQLite})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
