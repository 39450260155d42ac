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
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	db := s.db
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
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q.b.String(), q.args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "\n")
		if !byRange.MatchString(all) || strings.Contains(all, "SCAN s") || strings.Contains(all, "search_key_value") {
			t.Errorf("%s: the entity's search rows are not read by rowid range:\n%s\n%s", name, q.b.String(), all)
		}
	}
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
		SerializeWrites: true, SingleRowInserts: true, PackedRows: true, CountFromSearch: true, BodyAsBytes: "CAST(%s AS BLOB)", LimitParam: "+?",
		OrFail: " OR FAIL", MaxParams: 400, FullText: FullTextSQLite})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
