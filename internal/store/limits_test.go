package store

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPreparedReadsInlineTheirLimit: the statements the store prepares
// once and runs again (cachedQuery, searchRows) carry their LIMIT in
// their text. SQLite reads a bound LIMIT's value as it plans, so each new
// binding of it (database/sql binds every argument on every run) expired
// the plan: an owner page's statement was parsed and planned again on
// every request. A behaviour test cannot see a re-plan (the driver does
// not report one); this checks the texts that were prepared.
func TestPreparedReadsInlineTheirLimit(t *testing.T) {
	ctx := context.Background()
	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	owner := Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{"group:default/a"}}}}
	sensitive := Not(Match("metadata.annotations.rigger.dev/sensitive", "true"))
	for _, q := range []Query{
		{Filter: owner, Limit: 50},
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
	for _, term := range []string{"svc", ""} {
		if _, err := s.Search(ctx, SearchQuery{Term: term, Limit: 10, Offset: 10}); err != nil {
			t.Fatal(err)
		}
	}
	s.stmtMu.Lock()
	texts := make([]string, 0, len(s.stmts)+len(s.searchStmts))
	for text := range s.stmts {
		texts = append(texts, text)
	}
	for text := range s.searchStmts {
		texts = append(texts, text)
	}
	s.stmtMu.Unlock()
	slices.Sort(texts)
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		" LIMIT 51",          // the owner page
		" LIMIT 21",          // the page under a policy
		" LIMIT 1025",        // the count's entities the policy does not admit
		" LIMIT 101",         // the hidden set
		" LIMIT 11 OFFSET ?", // a search page (one more than asked)
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no prepared statement has %q:\n%s", want, all)
		}
	}
	for _, text := range texts {
		if strings.Contains(text, "LIMIT ?") {
			t.Errorf("a prepared statement binds its LIMIT:\n%s", text)
		}
	}
}
