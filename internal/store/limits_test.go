package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestPreparedReadsBindTheirLimitUnplanned: the statements the store
// prepares once and runs again (cachedQuery, searchRows) bind their LIMIT
// behind the dialect's LimitParam ("+?" on SQLite, whose planner reads the
// value of a bare bound LIMIT: each run after a new binding parsed and
// planned the statement again), and one text serves every page size (a
// size written into the text filled the bounded statement cache). A
// re-plan itself is not observable through the driver; this checks the
// texts that were prepared.
func TestPreparedReadsBindTheirLimitUnplanned(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	owner := Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{"group:default/a"}}}}
	sensitive := Not(Match("metadata.annotations.rigger.dev/sensitive", "true"))
	for _, q := range []Query{
		{Filter: owner, Limit: 50},
		{Filter: owner, Limit: 20},
		{Filter: owner, Limit: 7},
		{Filter: owner, Limit: 20, Access: sensitive},
		{Filter: Filter{{{Key: "spec.owner", Values: []string{"x"}}}}, Access: sensitive, CountOnly: true},
	} {
		if _, err := s.Query(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, _, err := s.HiddenSet(ctx, sensitive, 100); err != nil {
		t.Fatal(err)
	}
	for _, sq := range []SearchQuery{{Term: "svc", Limit: 10, Offset: 10}, {Term: "svc", Limit: 20, Offset: 40}, {Limit: 10}} {
		if _, err := s.Search(ctx, sq); err != nil {
			t.Fatal(err)
		}
	}
	s.stmtMu.Lock()
	var texts []string
	for text := range s.stmts {
		texts = append(texts, text)
	}
	for text := range s.searchStmts {
		texts = append(texts, text)
	}
	s.stmtMu.Unlock()
	pages, limited := 0, 0
	for _, text := range texts {
		if strings.Contains(text, "LIMIT") {
			limited++
		}
		if strings.Contains(text, "LIMIT ?") || strings.Contains(text, "LIMIT 5") || strings.Contains(text, "LIMIT 2") {
			t.Errorf("a prepared statement binds its LIMIT bare or writes its value:\n%s", text)
		}
		if strings.Contains(text, "ORDER BY o0 ASC") && !strings.Contains(text, "NOT (EXISTS") {
			pages++
		}
	}
	// The page, the page under a policy, the count's unadmitted entities,
	// the hidden set and the search statements.
	if limited < 5 {
		t.Errorf("%d prepared statements with a LIMIT, want at least 5:\n%s", limited, strings.Join(texts, "\n"))
	}
	if pages != 1 {
		t.Errorf("the owner page in three sizes was %d prepared statements, want 1:\n%s", pages, strings.Join(texts, "\n"))
	}
}
