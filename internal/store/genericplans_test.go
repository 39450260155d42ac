package store

import (
	"fmt"
	"testing"
)

// TestPlannedPerRequestBound: the filters remembered to be planned per
// request are bounded: a filter stays remembered while fewer than
// maxHeavyFilters others came after it, and is forgotten (run once on
// generic plans again) after twice as many.
func TestPlannedPerRequestBound(t *testing.T) {
	var s SQL
	key := func(i int) string { return fmt.Sprintf("filter %d", i) }
	for i := range maxHeavyFilters + 1 {
		s.planPerRequest(key(i))
	}
	if !s.plannedPerRequest(key(0)) || !s.plannedPerRequest(key(maxHeavyFilters)) {
		t.Fatal("a filter was forgotten before maxHeavyFilters others came after it")
	}
	for i := maxHeavyFilters + 1; i < 3*maxHeavyFilters; i++ {
		s.planPerRequest(key(i))
	}
	if s.plannedPerRequest(key(0)) {
		t.Fatal("the first filter is still remembered after 3x maxHeavyFilters others")
	}
	if n := len(s.generic.heavy) + len(s.generic.older); n > 2*maxHeavyFilters {
		t.Fatalf("%d filters remembered, want at most %d", n, 2*maxHeavyFilters)
	}
	if !s.plannedPerRequest(key(3*maxHeavyFilters - 1)) {
		t.Fatal("the last filter is not remembered")
	}
}
