package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Generic plans for pages (Dialect.GenericDB).
//
// PostgreSQL plans a prepared statement afresh on each run (a custom plan,
// made for its parameters' values) until a plan made without them (the
// generic plan) is costed as cheap as the custom plans were. An owner's
// page (kind=component,spec.owner=X) at 100k entities never is: the
// owners are too many to be among the most common values, and the
// generic plan's estimate of an owner's matches (the average) is costed
// higher than the custom plans' (which estimate fewer). So its page
// statement and its count were each planned on every request, 0.2-0.5 ms
// of the ~1.4 ms they took on the database (psql, 400 pages and counts:
// 1.43-1.50 ms a statement against 1.01-1.02 with generic plans), for
// the same plan: index rows of the owner, then each match's entity row.
//
// Only that shape runs on generic plans: one condition on a search key
// or a relation (with the values it must have), beside conditions on
// entity columns (kind, namespace, name, uid). A generic plan estimates
// every search or relation condition from the column's statistics alone,
// a row or so whatever its value; of two (kind=component,
// spec.type=service,spec.owner=X) it might start from the common one,
// which a custom plan knows not to, while their count stays small. A
// filter of columns alone (kind=component) is planned quickly and its
// plan depends on how common the kind is.
//
// That plan is good while a filter matches few entities, and only then:
// for a group that owns 43,000 of 86,000 components it read every match
// to sort them (188 ms), where a custom plan walks the entities in order
// and stops at the page's end (6.5 ms; the count, 110-150 ms either way,
// reads every match anyway). So a page and its count use generic plans
// while their filter is not known to match more than genericMaxMatches
// (their count says, on its first request) nor to have taken genericSlow
// on them, and are planned per request from then on.
//
// A generic plan is kept until a table it reads changes shape: its
// statistics or size (ANALYZE, VACUUM) or an index. One made while the
// catalog was empty (scans) would outlive its growth by small batches
// until then: a large batch (analyzeAfter rows) analyzes in its own
// transaction, a first load rebuilds the indexes, small batches adding
// up to vacuumAfterSmall rows run Dialect.Vacuum, and autovacuum
// analyzes a tenth's growth within its nap time (a minute); a plan made
// for an empty catalog then scans at most ~10,000 entities, for a while.

// genericMaxMatches is the count past which a filter's pages and counts
// are planned per request (see above).
const genericMaxMatches = 1000

// genericSlow is how long a statement may run on generic plans (to its
// first row, which a page's sort reads every match for) before its filter
// is planned per request for genericSlowFor: a shape whose generic plan
// is poor for values the count does not catch (kind=api,spec.owner=X
// for a group that owns many components and few APIs). For a while only,
// as a lock or a busy machine slows anything.
const (
	genericSlow    = 25 * time.Millisecond
	genericSlowFor = 10 * time.Minute
)

// maxHeavyFilters bounds the filters remembered (as hashes of their
// conditions as the statements read them) to be planned per request, or
// to match few, in each of two generations (filterSet): forgotten, such a
// filter runs once on generic plans, or with its count apart, again.
const maxHeavyFilters = 1024

// genericPlans is what a store keeps of Dialect.GenericDB.
type genericPlans struct {
	// slots has one token per connection of the pool: a statement that
	// finds none free runs on the main pool (planned per request), so
	// the pool bounds no one's wait.
	slots chan struct{}
	// stmts are the pool's prepared statements (under SQL.stmtMu).
	stmts map[string]*sql.Stmt
	// pages and counts are the statements run on the pool.
	pages, counts atomic.Int64
	// slow is genericSlow unless a test set another (SetGenericSlow).
	slow atomic.Int64
	mu   sync.Mutex
	// heavy are the filters planned per request; light those counted at
	// most genericMaxMatches, whose pages count their matches themselves
	// (Query).
	heavy, light filterSet
}

// filterSet is a bounded memory of filters (by key), each until a time
// (zero: for as long as it is kept): two generations of at most
// maxHeavyFilters each; when the newer is full it becomes the older, and
// the older is forgotten.
type filterSet struct {
	newer, older map[string]time.Time
}

// has reports whether key is kept, and its time has not come.
func (f *filterSet) has(key string) bool {
	for _, m := range []map[string]time.Time{f.newer, f.older} {
		if until, ok := m[key]; ok && (until.IsZero() || time.Now().Before(until)) {
			return true
		}
	}
	return false
}

// add keeps key until the time given (one kept for good stays so).
func (f *filterSet) add(key string, until time.Time) {
	if had, ok := f.newer[key]; ok && had.IsZero() {
		return
	}
	if len(f.newer) >= maxHeavyFilters {
		f.older, f.newer = f.newer, nil
	}
	if f.newer == nil {
		f.newer = map[string]time.Time{}
	}
	f.newer[key] = until
}

// genericKey is what qu's filter is remembered by (Query.generic) when its
// page and count may run on generic plans (of those statements without
// an access predicate: Query.genericFor), "" when they may not: no
// GenericDB, a full-text term (searches are planned for their terms),
// no count to learn from, another shape than the one above, or a filter
// planned per request since. light: it was counted to match few.
func (s *SQL) genericKey(qu Query) (key string, light bool) {
	if s.d.GenericDB == nil || strings.TrimSpace(qu.FullText) != "" || qu.NoTotal || qu.CountOnly || len(qu.Filter) != 1 {
		return "", false
	}
	rows := 0
	conds := make([]string, 0, len(qu.Filter[0]))
	for _, c := range qu.Filter[0] {
		if len(c.Values) == 0 {
			return "", false
		}
		// As cond reads it: the key and (but a uid) the values in lower
		// case, in any order.
		key := strings.ToLower(c.Key)
		if columnFor(key) == "" {
			rows++
		}
		values := slices.Clone(c.Values) // (the caller's, not sorted in place)
		if key != "metadata.uid" {
			values = lowerAll(values)
		}
		slices.Sort(values)
		conds = append(conds, fmt.Sprintf("%q", append([]string{key}, slices.Compact(values)...)))
	}
	if rows != 1 {
		return "", false
	}
	slices.Sort(conds)
	sum := sha256.Sum256([]byte(strings.Join(slices.Compact(conds), ",")))
	key = string(sum[:])
	s.generic.mu.Lock()
	defer s.generic.mu.Unlock()
	if s.generic.heavy.has(key) {
		return "", false
	}
	return key, s.generic.light.has(key)
}

// planPerRequest has the filter of key planned per request from now on,
// until the time given (zero: for as long as it is remembered).
func (s *SQL) planPerRequest(key string, until time.Time) {
	s.generic.mu.Lock()
	defer s.generic.mu.Unlock()
	s.generic.heavy.add(key, until)
}

// countedMatches learns from a count of n matches of qu's filter.
func (s *SQL) countedMatches(qu Query, n int) {
	if qu.generic == "" {
		return
	}
	s.generic.mu.Lock()
	defer s.generic.mu.Unlock()
	if n > genericMaxMatches {
		s.generic.heavy.add(qu.generic, time.Time{})
	} else {
		s.generic.light.add(qu.generic, time.Time{})
	}
}

// SetGenericSlow sets how long a statement may run on generic plans before
// its filter is planned per request (genericSlow when 0): tests whose
// statements are planned afresh on a busy machine keep them there.
func (s *SQL) SetGenericSlow(d time.Duration) { s.generic.slow.Store(int64(d)) }

// GenericPlanRuns is how many page and count statements ran on generic
// plans (Dialect.GenericDB) since the store opened.
func (s *SQL) GenericPlanRuns() (pages, counts int64) {
	return s.generic.pages.Load(), s.generic.counts.Load()
}

// queryPlanned is cachedQuery, on a free connection of the GenericDB when
// key is a filter's (Query.genericFor) and one is free, counted in runs.
// done releases it: call it once rows are closed.
func (s *SQL) queryPlanned(ctx context.Context, key string, runs *atomic.Int64, query string, args ...any) (rows *sql.Rows, done func(), err error) {
	if key != "" {
		select {
		case s.generic.slots <- struct{}{}:
			done = func() { <-s.generic.slots }
			st, q, err := s.cachedStmtOn(ctx, s.d.GenericDB, &s.generic.stmts, query)
			if err == nil {
				// Timed from the statement's start to its first row (the
				// driver reads it before returning); not its prepare.
				t0 := time.Now()
				if st == nil {
					rows, err = s.d.GenericDB.QueryContext(ctx, q, args...)
				} else {
					rows, err = st.QueryContext(ctx, args...)
				}
				// Failed or not: one cancelled after so long was slow.
				slow := cmp.Or(time.Duration(s.generic.slow.Load()), genericSlow)
				if time.Since(t0) >= slow {
					s.planPerRequest(key, time.Now().Add(genericSlowFor))
				}
			}
			if err != nil {
				done()
				return nil, nil, err
			}
			runs.Add(1)
			return rows, done, nil
		default:
		}
	}
	rows, err = s.cachedQuery(ctx, query, args...)
	return rows, func() {}, err
}
