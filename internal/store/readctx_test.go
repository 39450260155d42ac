package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestShortReadsRunUncancelled: on a dialect with UncancelledReads, only a
// short read (shortRead) runs its statements without the caller's
// cancellation: one left running for a caller gone meanwhile must cost
// little. Everything else keeps the caller's context (helper-104's review:
// an order on a search key, many alternatives or an access predicate
// tested on each match can run for seconds at 100k entities).
func TestShortReadsRunUncancelled(t *testing.T) {
	owner := Filter{{{Key: "kind", Values: []string{"component"}}, {Key: "spec.owner", Values: []string{"group:default/a"}}}}
	sensitive := Not(Match("metadata.annotations.rigger.dev/sensitive", "true"))
	known := &HiddenAt{Gen: 3}
	for _, c := range []struct {
		name  string
		qu    Query
		short bool
	}{
		{"an owner page", Query{Filter: owner, Limit: 50}, true},
		{"a count", Query{Filter: owner, CountOnly: true}, true},
		{"ordered by name, descending", Query{Filter: owner, Limit: 50, Order: []Order{{Field: "metadata.name", Desc: true}}}, true},
		{"under a known hidden set", Query{Filter: owner, Limit: 50, Access: sensitive, Hidden: known}, true},
		{"the largest short page", Query{Filter: owner, Limit: maxShortRead}, true},
		{"under an access predicate tested on each match", Query{Filter: owner, Limit: 50, Access: sensitive}, false},
		{"full text", Query{Filter: owner, Limit: 50, FullText: "svc"}, false},
		{"an offset", Query{Filter: owner, Limit: 50, Offset: 100}, false},
		{"two alternatives", Query{Filter: append(owner, owner[0]), Limit: 50}, false},
		{"a large page", Query{Filter: owner, Limit: maxShortRead + 1}, false},
		{"ordered by a search key", Query{Filter: owner, Limit: 50, Order: []Order{{Field: "spec.owner"}}}, false},
	} {
		if got := shortRead(c.qu); got != c.short {
			t.Errorf("%s: shortRead %v, want %v", c.name, got, c.short)
		}
	}

	s := openSQLite(t, filepath.Join(t.TempDir(), "rigger.db"))
	defer s.Close()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.readCtx(gone, Query{Filter: owner, Limit: 50}).Err(); err != nil {
		t.Errorf("a short read on SQLite keeps the caller's cancellation: %v", err)
	}
	if err := s.readCtx(gone, Query{Filter: owner, Limit: 50, Offset: 10}).Err(); err == nil {
		t.Error("a read with an offset runs without the caller's cancellation")
	}
	other := &SQL{d: Dialect{Name: "postgres"}}
	if err := other.readCtx(gone, Query{Filter: owner, Limit: 50}).Err(); err == nil {
		t.Error("a dialect without UncancelledReads runs reads without the caller's cancellation")
	}
	// A gone caller gets its error, not a page, whichever context the
	// statements would have had.
	for name, q := range map[string]Query{
		"a short page": {Filter: owner, Limit: 10},
		"a count":      {Filter: owner, CountOnly: true},
		"a full text":  {FullText: "svc", Limit: 10},
		"an offset":    {Filter: owner, Limit: 10, Offset: 5},
	} {
		if _, err := s.Query(gone, q); !errors.Is(err, context.Canceled) {
			t.Errorf("%s for a gone caller: %v, want context.Canceled", name, err)
		}
	}
}
