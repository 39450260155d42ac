package catalogsvc

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
)

// heldStore holds every HiddenSet read until release is closed, counting
// the reads running at once.
type heldStore struct {
	store.Store
	release       chan struct{}
	running, peak atomic.Int64
	calls         atomic.Int64
}

func (h *heldStore) HiddenSet(ctx context.Context, access *store.Expr, max int) (int64, map[string]bool, bool, error) {
	h.calls.Add(1)
	n := h.running.Add(1)
	defer h.running.Add(-1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	<-h.release
	return h.Store.HiddenSet(ctx, access, max)
}

// Many callers' first pages after a write (each its own access predicate)
// start at most maxHiddenReads background reads of their hidden sets; the
// others are told the set is unknown (their pages ask the store) and start
// theirs once a read ends.
func TestHiddenSetReadsAreBounded(t *testing.T) {
	ctx := context.Background()
	st := openSQLite(t)
	held := &heldStore{Store: st, release: make(chan struct{})}
	var h hiddenSets
	access := func(i int) *store.Expr {
		return store.Not(store.Match("metadata.annotations.rigger.io/sensitive", fmt.Sprintf("team-%d", i)))
	}
	for i := range 20 {
		if _, known := h.lookup(ctx, held, nil, access(i), 7); known {
			t.Fatalf("predicate %d: a set never read is known", i)
		}
	}
	time.Sleep(50 * time.Millisecond) // let every started read reach the store
	if got := held.calls.Load(); got != maxHiddenReads {
		t.Fatalf("20 predicates started %d reads; want %d at once", got, maxHiddenReads)
	}
	close(held.release)
	for deadline := time.Now().Add(10 * time.Second); ; {
		known := 0
		for i := range 20 {
			if _, ok := h.lookup(ctx, held, nil, access(i), 1); ok {
				known++
			}
		}
		if known == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 sets read after 10s", known)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p := held.peak.Load(); p > maxHiddenReads {
		t.Fatalf("%d reads ran at once; want at most %d", p, maxHiddenReads)
	}
}

// hiddenGiven records the hidden set each page query is given; while
// hold is set, HiddenSet reads wait until release is closed.
type hiddenGiven struct {
	store.Store
	mu      sync.Mutex
	given   []*store.HiddenAt
	hold    atomic.Bool
	release chan struct{}
}

func (h *hiddenGiven) HiddenSet(ctx context.Context, access *store.Expr, max int) (int64, map[string]bool, bool, error) {
	if h.hold.Load() {
		<-h.release
	}
	return h.Store.HiddenSet(ctx, access, max)
}

func (h *hiddenGiven) Query(ctx context.Context, q store.Query) (store.Page, error) {
	h.mu.Lock()
	h.given = append(h.given, q.Hidden)
	h.mu.Unlock()
	return h.Store.Query(ctx, q)
}

// A page query is given the caller's cached hidden set; once a page shows
// the catalog has moved past the set's generation (the store ran that page
// twice), no query is given that set again: the next is given none or a
// set read since.
func TestOutdatedHiddenSetIsNotGivenAgain(t *testing.T) {
	ctx := context.Background()
	s, st, rec := recordedService(t)
	warmHidden(t, s, rec, alice)
	// From here the set is not read again before the pages below: what
	// they are given comes from what the service learnt from the pages.
	rec.hold.Store(true)
	components := store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}, Limit: 10}
	if _, err := s.Query(ctx, alice, components); err != nil {
		t.Fatal(err)
	}
	old := rec.last()
	if old == nil {
		t.Fatal("a query after the set was read was given no set")
	}
	// A write elsewhere moves the generation.
	addMoved(t, st)
	for i := range 2 {
		page, err := s.Query(ctx, alice, components)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entities) == 0 {
			t.Fatal("no components")
		}
		given := rec.last()
		if i == 0 && (given == nil || given.Gen != old.Gen) {
			t.Fatalf("the first page after the write was given %+v, want the set of generation %d", given, old.Gen)
		}
		if i == 1 && given != nil && given.Gen == old.Gen {
			t.Fatalf("the set of generation %d was given again after a page read at %d", old.Gen, page.Entities[0].Gen)
		}
	}
}

// Counts alone (by-query's limit=0, a client polling for a total) learn
// the caller's hidden set as pages do: after the first, later counts are
// given the set (and leave its entities out instead of testing access on
// each match); after a write, a count that read past the set's generation
// keeps the next from being given it again.
func TestCountsAloneLearnTheHiddenSet(t *testing.T) {
	ctx := context.Background()
	s, st, rec := recordedService(t)
	count := store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}, CountOnly: true}
	var first store.Page
	for deadline := time.Now().Add(10 * time.Second); rec.last() == nil; {
		if time.Now().After(deadline) {
			t.Fatal("counts alone were never given the hidden set")
		}
		page, err := s.Query(ctx, alice, count)
		if err != nil {
			t.Fatal(err)
		}
		if first.Gen == 0 {
			first = page
		}
		time.Sleep(10 * time.Millisecond)
	}
	if first.Gen == 0 || first.TotalItems == 0 {
		t.Fatalf("the first count: %+v, want a total and the generation it read", first)
	}
	given := rec.last()
	page, err := s.Query(ctx, alice, count)
	if err != nil || page.TotalItems != first.TotalItems {
		t.Fatalf("a count given the set: %+v %v, want total %d", page, err, first.TotalItems)
	}
	// A write moves the generation; the set is not read again meanwhile.
	rec.hold.Store(true)
	addMoved(t, st)
	for i := range 2 {
		page, err := s.Query(ctx, alice, count)
		if err != nil || page.TotalItems != first.TotalItems+1 {
			t.Fatalf("count %d after the write: %+v %v, want total %d", i, page, err, first.TotalItems+1)
		}
		if i == 1 {
			if last := rec.last(); last != nil && last.Gen == given.Gen {
				t.Fatalf("the set of generation %d was given again after a count read at %d", given.Gen, page.Gen)
			}
		}
	}
}

// recordedService is a service on the test catalog whose store records
// the hidden sets queries are given (hiddenGiven), and that store.
func recordedService(t *testing.T) (*Service, store.Store, *hiddenGiven) {
	t.Helper()
	st := openSQLite(t)
	rec := &hiddenGiven{Store: st, release: make(chan struct{})}
	t.Cleanup(func() { close(rec.release) })
	f, err := filepath.Abs(testCatalog)
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := testServiceOn(t, rec, f, true)
	return s, st, rec
}

// last is the set the last query was given (nil: none, or no query yet).
func (h *hiddenGiven) last() *store.HiddenAt {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.given) == 0 {
		return nil
	}
	return h.given[len(h.given)-1]
}

// addMoved writes a component in a location of its own: the catalog's
// generation moves.
func addMoved(t *testing.T, st store.Store) {
	t.Helper()
	ctx := context.Background()
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: "/moved.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"moved","namespace":"default"},"spec":{}}`)
	if _, err := st.ReplaceLocation(ctx, loc.ID, []store.Entity{{Ref: "component:default/moved", Body: body, Hash: "m",
		Search: []store.SearchRow{{Key: "kind", Value: "component", Original: "Component"}}}}, store.ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
}
