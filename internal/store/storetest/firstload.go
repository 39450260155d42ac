package storetest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// testReadersDuringFirstLoad runs the API's read mix (by ref, a page by
// query with its relations and count, a list page, facets, a search) from
// several goroutines while a first load into an empty catalog, large
// enough to build the secondary indexes after its rows, is under way: held
// part-way (its indexes already dropped where the store drops them) while
// readers start, and while readers are busy when it begins. Every read
// must succeed and see the catalog before the load (empty) or after it
// (complete), never part of it (a count and the page it runs beside each
// see one or the other); two loads fail part-way and must leave it
// empty, the third commits and every reader then sees it whole.
func testReadersDuringFirstLoad(t *testing.T, open Opener) {
	s := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/first-load.yaml"}))

	// 2500 components, one relation each; every 25th owned by team-few (a
	// search's total is exact only under store.MaxSearchCount).
	const n, few = 2500, 100
	const holdAt = 2000 // past the first load's threshold on both stores
	entity := func(i int) store.Entity {
		owner := "team-load"
		if i%25 == 0 {
			owner = "team-few"
		}
		e := ent("Component", fmt.Sprintf("loader-%04d", i), map[string]string{"type": "service", "owner": owner})
		e.Relations = []store.Relation{{Source: e.Ref, Type: "ownedBy", Target: "group:default/" + owner}}
		return e
	}
	c := func(k string, v ...string) store.Cond { return store.Cond{Key: k, Values: v} }
	components := store.Filter{{c("kind", "component")}}

	// Each read says "empty", "full" or what it saw instead.
	type read func() (string, error)
	reads := []read{
		func() (string, error) { // by ref
			e, err := s.EntityByRef(ctx, "component:default/loader-0025")
			if errors.Is(err, errs.ErrNotFound) {
				return "empty", nil
			}
			if err != nil {
				return "", err
			}
			if len(e.Relations) != 1 || e.Relations[0].Target != "group:default/team-few" {
				return fmt.Sprintf("by ref: relations %+v", e.Relations), nil
			}
			return "full", nil
		},
		func() (string, error) { // by query: a page with relations and its count
			p, err := s.Query(ctx, store.Query{Filter: store.Filter{{c("kind", "component"), c("spec.owner", "team-few")}},
				Order: []store.Order{{Field: "metadata.name"}}, Limit: 20})
			if err != nil {
				return "", err
			}
			// The count runs beside the page, on another connection: each
			// sees the catalog before or after, not necessarily the same
			// one (so does every commit between them; not a first load's).
			if p.TotalItems != 0 && p.TotalItems != few {
				return fmt.Sprintf("by query: total %d", p.TotalItems), nil
			}
			if len(p.Entities) == 0 {
				return "empty", nil
			}
			if len(p.Entities) != 20 {
				return fmt.Sprintf("by query: %d entities", len(p.Entities)), nil
			}
			for _, e := range p.Entities {
				if len(e.Relations) != 1 {
					return fmt.Sprintf("by query: %s has relations %+v", e.Ref, e.Relations), nil
				}
			}
			return "full", nil
		},
		func() (string, error) { // a list page, no count
			p, err := s.Query(ctx, store.Query{Filter: components, Limit: 50, NoTotal: true})
			if err != nil {
				return "", err
			}
			switch {
			case len(p.Entities) == 0:
				return "empty", nil
			case len(p.Entities) != 50 || !p.HasMore:
				return fmt.Sprintf("list: %d entities, more %v", len(p.Entities), p.HasMore), nil
			}
			return "full", nil
		},
		func() (string, error) { // facets
			f, err := s.Facets(ctx, components, []string{"spec.owner"})
			if err != nil {
				return "", err
			}
			got := f["spec.owner"]
			switch {
			case len(got) == 0:
				return "empty", nil
			case len(got) != 2 || got[0] != (store.FacetCount{Value: "team-load", Count: n - few}) || got[1] != (store.FacetCount{Value: "team-few", Count: few}):
				return fmt.Sprintf("facets: %+v", got), nil
			}
			return "full", nil
		},
		func() (string, error) { // search
			p, err := s.Search(ctx, store.SearchQuery{Kinds: []string{"component"}, Filters: []store.Cond{c("spec.owner", "team-few")}, Limit: 10})
			if err != nil {
				return "", err
			}
			// Its count and its page run at once too (as by query's).
			switch {
			case p.Total != 0 && p.Total != few:
				return fmt.Sprintf("search: total %d", p.Total), nil
			case len(p.Results) == 0:
				return "empty", nil
			case len(p.Results) != 10:
				return fmt.Sprintf("search: %d results", len(p.Results)), nil
			}
			return "full", nil
		},
		func() (string, error) { // a misspelt term: through the typo vocabulary
			p, err := s.Search(ctx, store.SearchQuery{Term: "loadr", Limit: 5})
			if err != nil {
				return "", err
			}
			switch len(p.Results) {
			case 0:
				return "empty", nil
			case 5:
				return "full", nil
			}
			return fmt.Sprintf("typo search: %d results", len(p.Results)), nil
		},
	}

	// readers runs every read from its own goroutines (two each) until
	// stop, then reports what went wrong and whether "full" was seen.
	var (
		mu      sync.Mutex
		bad     []string
		started atomic.Int64
		full    atomic.Int64
	)
	readers := func(stop <-chan struct{}) (wait func()) {
		var wg sync.WaitGroup
		for i := range 2 * len(reads) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started.Add(1)
				for {
					got, err := reads[i%len(reads)]()
					if err != nil || (got != "empty" && got != "full") {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("read %d: %q %v", i%len(reads), got, err))
						mu.Unlock()
					}
					if got == "full" {
						full.Add(1)
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		return wg.Wait
	}

	// load streams the entities, held before the entity holdAt until
	// release closes (held tells it got there), then fails with fail
	// (nil: commits).
	load := func(held chan<- struct{}, release <-chan struct{}, fail error) (store.ReplaceResult, error) {
		stream := func(yield func(store.Entity, error) bool) {
			for i := range n {
				if i == holdAt {
					close(held)
					<-release
				}
				if !yield(entity(i), nil) {
					return
				}
			}
			if fail != nil {
				yield(store.Entity{}, fail)
			}
		}
		return s.ReplaceLocationStream(ctx, loc.ID, iter.Seq2[store.Entity, error](stream), store.ReplaceOptions{Orphans: store.OrphanDelete})
	}
	boom := errors.New("the last file does not parse")
	type result struct {
		res store.ReplaceResult
		err error
	}
	round := func(name string, busyBefore bool, fail error) store.ReplaceResult {
		t.Helper()
		stop := make(chan struct{})
		var wait func()
		started.Store(0)
		if busyBefore {
			wait = readers(stop)
		}
		held, release := make(chan struct{}), make(chan struct{})
		done := make(chan result, 1)
		go func() {
			res, err := load(held, release, fail)
			done <- result{res, err}
		}()
		select {
		case <-held:
		case r := <-done:
			t.Fatalf("%s: the load ended before it was held: %+v %v", name, r.res, r.err)
		}
		if !busyBefore {
			wait = readers(stop)
		}
		// The readers run while the load is held (on PostgreSQL a reader
		// may be waiting for its locks: the wait is not a failure).
		for started.Load() < int64(2*len(reads)) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		close(release)
		r := <-done
		if fail == nil {
			// Until every reader has seen the committed load at least once more.
			for seen := full.Load(); full.Load() < seen+int64(4*len(reads)) && ctx.Err() == nil; {
				time.Sleep(5 * time.Millisecond)
			}
		}
		close(stop)
		wait()
		mu.Lock()
		defer mu.Unlock()
		if len(bad) > 0 {
			t.Fatalf("%s: %d reads failed or saw part of the load, e.g. %s", name, len(bad), bad[0])
		}
		if fail != nil {
			if !errors.Is(r.err, fail) {
				t.Fatalf("%s: failed load returned %+v %v", name, r.res, r.err)
			}
			if full.Load() > 0 {
				t.Fatalf("%s: readers saw a load that failed", name)
			}
		} else if r.err != nil {
			t.Fatalf("%s: load: %v", name, r.err)
		}
		return r.res
	}
	round("readers start while the load is held", false, boom)
	round("readers busy when the load starts", true, boom)
	if res := round("readers busy when the load starts, which commits", true, nil); res.Inserted != n {
		t.Fatalf("first load: %+v", res)
	}
	for _, r := range reads {
		if got, err := r(); got != "full" || err != nil {
			t.Fatalf("after the load: %q %v", got, err)
		}
	}
}
