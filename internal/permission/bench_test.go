package permission

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// BenchmarkOwnerQueryPolicy: an owner-filtered by-query page (20 rows and
// totalItems) on SQLite at 100k entities, a seventh of them sensitive, with
// the default policy's read filter (translated per request, as the API
// does) and without. Reports p50/p99 per request.
func BenchmarkOwnerQueryPolicy(b *testing.B) {
	const n, teams = 100_000, 200
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "r.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	loc, err := st.AddLocation(ctx, store.Location{Type: "file", Target: "/bench.yaml"})
	if err != nil {
		b.Fatal(err)
	}
	rows := func(yield func(store.Entity, error) bool) {
		for i := range n {
			ann := ""
			if i%7 == 0 {
				ann = `,"annotations":{"rigger.dev/sensitive":"true"}`
			}
			body := fmt.Sprintf(`{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"svc-%d","tags":["t%d"]%s},"spec":{"type":"service","lifecycle":"production","owner":"team-%d"}}`,
				i, i%50, ann, i%teams)
			if !yield(rowOf(b, body), nil) {
				return
			}
		}
	}
	if _, err := st.ReplaceLocationStream(ctx, loc.ID, rows, store.ReplaceOptions{}); err != nil {
		b.Fatal(err)
	}
	p, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	alice := Principal{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-7"}}
	for _, on := range []bool{false, true} {
		name := "policy=off"
		if on {
			name = "policy=on"
		}
		b.Run(name, func(b *testing.B) {
			var times []time.Duration
			i := 0
			for b.Loop() {
				start := time.Now()
				q := store.Query{Filter: store.Filter{{{Key: "spec.owner", Values: []string{fmt.Sprintf("team-%d", i%teams)}}}}, Limit: 20}
				if on {
					access, err := p.EntityFilter(alice, EntityRead)
					if err != nil {
						b.Fatal(err)
					}
					q.Access = access
				}
				page, err := st.Query(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if page.TotalItems == 0 {
					b.Fatal("no rows")
				}
				times = append(times, time.Since(start))
				i++
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkDecision: one Authorize (a single entity read) and one
// EntityFilter (a list's translation) under the default policy.
func BenchmarkDecision(b *testing.B) {
	p, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	res, err := EntityResource([]byte(fixture[1]))
	if err != nil {
		b.Fatal(err)
	}
	alice := principals[0]
	b.Run("authorize", func(b *testing.B) {
		for b.Loop() {
			if p.Authorize(alice, EntityRead, res).Allowed {
				b.Fatal("alice reads team-b's sensitive entity")
			}
		}
	})
	b.Run("entity-filter", func(b *testing.B) {
		for b.Loop() {
			if _, err := p.EntityFilter(alice, EntityRead); err != nil {
				b.Fatal(err)
			}
		}
	})
}
