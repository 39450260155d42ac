package store

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRelationKeyPlans: a relations.<type> access probe with targets is
// one seek of relations_type_target per target (type, target and the
// row's ref: every column of the index), and a full text over any value
// reads the entity's search rows by rowid range and its relations by
// source — never a scan of either table.
func TestRelationKeyPlans(t *testing.T) {
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	for name, c := range map[string]struct {
		build func(q *sqlBuilder)
		want  []string
	}{
		"probe": {func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE ")
			probe(q, Cond{Key: "relations.ownedBy", Values: []string{"group:default/a", "group:default/b"}})
		}, []string{"USING COVERING INDEX relations_type_target (type_lower=? AND target_lower=? AND source_ref=?)"}},
		"full text": {func(q *sqlBuilder) {
			q.add("SELECT e.id FROM entities e WHERE ")
			fullTextCond(q, "svc", nil, false)
		}, []string{"SEARCH s USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)", "SEARCH r USING INDEX relations_source (source_ref=?)"}},
	} {
		q := s.builder()
		c.build(&q)
		all := queryPlan(t, s, name, q)
		for _, w := range c.want {
			if !strings.Contains(all, w) || strings.Contains(all, "SCAN s") || strings.Contains(all, "SCAN r") {
				t.Errorf("%s: want %q in the plan, and no scan of search or relations:\n%s\n%s", name, w, q.b.String(), all)
			}
		}
	}
}

// TestRelationSearchRowsMigrated: a database written before relations.*
// search rows were dropped loses them as it opens, and keeps every other
// search row.
func TestRelationSearchRowsMigrated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rigger.db")
	s := openSQLite(t, path)
	// Back to the migration before, with the rows it allowed.
	last := len(Schema("sqlite"))
	for _, stmt := range []string{
		"DELETE FROM schema_migrations WHERE version = " + strconv.Itoa(last),
		"INSERT INTO entities (id, uid, ref, kind, namespace, name, body, hash, created_at, updated_at) VALUES (1, 'u1', 'component:default/a', 'component', 'default', 'a', '{}', 'h', 'now', 'now')",
		"INSERT INTO search (id, entity_id, key, value) VALUES (16777216, 1, 'relations.ownedby', 'group:default/t'), (16777217, 1, 'spec.owner', 't'), (16777218, 1, 'relationsx', 'y')",
	} {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	s.Close()
	s = openSQLite(t, path)
	defer s.Close()
	rows, err := s.db.QueryContext(ctx, "SELECT key FROM search ORDER BY key")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if got := strings.Join(keys, ","); got != "relationsx,spec.owner" {
		t.Fatalf("search keys after the migration: %s, want relationsx,spec.owner", got)
	}
}
