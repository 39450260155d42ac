package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
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
// That plan is good while a filter matches few entities, and only then:
// for a group that owns 43,000 of 86,000 components it read every match
// to sort them (188 ms), where a custom plan walks the entities in order
// and stops at the page's end (6.5 ms; the count, 110-150 ms either way,
// reads every match anyway). So a page and its count use generic plans
// while their filter is not known to match more than genericMaxMatches
// (their count says, on its first request), and are planned per request
// from then on.
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

// maxHeavyFilters bounds the filters remembered to match more than
// genericMaxMatches; past it the memory starts over (each such filter
// then runs one request on generic plans again).
const maxHeavyFilters = 1024

// genericPlans is what a store keeps of Dialect.GenericDB.
type genericPlans struct {
	// slots has one token per connection of the pool: a statement that
	// finds none free runs on the main pool (planned per request), so
	// the pool bounds no one's wait.
	slots chan struct{}
	// stmts are the pool's prepared statements (under SQL.stmtMu).
	stmts map[string]*sql.Stmt
	mu    sync.Mutex
	heavy map[string]struct{}
}

// genericKey is what qu's filter is remembered by (Query.generic) when its
// page and count may run on generic plans (of those statements without
// an access predicate: Query.genericFor), "" when they may not: no
// GenericDB, a full-text term (searches are planned for their terms),
// no count to learn from, a condition that only asks for a key (matching
// much of the catalog), or a filter known to match more than
// genericMaxMatches.
func (s *SQL) genericKey(qu Query) string {
	if s.d.GenericDB == nil || strings.TrimSpace(qu.FullText) != "" || qu.NoTotal || qu.CountOnly || len(qu.Filter) == 0 {
		return ""
	}
	for _, and := range qu.Filter {
		if len(and) == 0 {
			return ""
		}
		for _, c := range and {
			if len(c.Values) == 0 {
				return ""
			}
		}
	}
	key := fmt.Sprintf("%q", qu.Filter)
	s.generic.mu.Lock()
	_, heavy := s.generic.heavy[key]
	s.generic.mu.Unlock()
	if heavy {
		return ""
	}
	return key
}

// countedMatches learns from a count of n matches of qu's filter.
func (s *SQL) countedMatches(qu Query, n int) {
	if qu.generic == "" || n <= genericMaxMatches {
		return
	}
	s.generic.mu.Lock()
	defer s.generic.mu.Unlock()
	if len(s.generic.heavy) >= maxHeavyFilters {
		clear(s.generic.heavy)
	}
	if s.generic.heavy == nil {
		s.generic.heavy = map[string]struct{}{}
	}
	s.generic.heavy[qu.generic] = struct{}{}
}

// queryPlanned is cachedQuery, on a free connection of the GenericDB when
// generic (and one is free). done releases it: call it once rows are closed.
func (s *SQL) queryPlanned(ctx context.Context, generic bool, query string, args ...any) (rows *sql.Rows, done func(), err error) {
	if generic {
		select {
		case s.generic.slots <- struct{}{}:
			done = func() { <-s.generic.slots }
			st, q, err := s.cachedStmtOn(ctx, s.d.GenericDB, &s.generic.stmts, query)
			if err == nil {
				if st == nil {
					rows, err = s.d.GenericDB.QueryContext(ctx, q, args...)
				} else {
					rows, err = st.QueryContext(ctx, args...)
				}
			}
			if err != nil {
				done()
				return nil, nil, err
			}
			return rows, done, nil
		default:
		}
	}
	rows, err = s.cachedQuery(ctx, query, args...)
	return rows, func() {}, err
}
