package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// pickerEntities are n components shaped as shared/peers/gen-catalog.mjs
// makes them (named svc-NNNNNN, titled "Service N", owned by one of 50
// teams, one in 20 sensitive) and, as there, 13.5% as many entities of
// other kinds: APIs (api-NNNNNN, no title) and groups (team-NNNN).
func pickerEntities(tb testing.TB, n int) []store.Entity {
	tb.Helper()
	out := make([]store.Entity, 0, n+n*135/1000)
	add := func(e catalog.Entity) {
		row, err := catalog.Row(e)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, row)
	}
	for i := range n {
		md := map[string]any{"name": fmt.Sprintf("svc-%06d", i), "namespace": "default",
			"title": fmt.Sprintf("Service %d", i), "description": fmt.Sprintf("Synthetic component svc-%06d", i)}
		if i%20 == 0 {
			md["annotations"] = map[string]any{"rigger.dev/sensitive": "true"}
		}
		add(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": md,
			"spec": map[string]any{"type": "service", "lifecycle": "production", "owner": fmt.Sprintf("team-%04d", i%50)}})
	}
	for i := range n / 10 {
		add(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "API",
			"metadata": map[string]any{"name": fmt.Sprintf("api-%06d", i), "namespace": "default"},
			"spec":     map[string]any{"type": "openapi", "lifecycle": "production", "owner": fmt.Sprintf("team-%04d", i%50), "definition": "openapi: 3.0.0"}})
	}
	for i := range max(1, n*35/1000) {
		add(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Group",
			"metadata": map[string]any{"name": fmt.Sprintf("team-%04d", i), "namespace": "default"},
			"spec":     map[string]any{"type": "team", "children": []any{}}})
	}
	return out
}

// PickerTerms are the texts BenchmarkUI's picker types, one key at a time
// (web/scripts/ui-bench.mjs): every prefix of a full name, a title and a
// bare number, each of a component that exists among n.
func PickerTerms(n int) []string {
	var out []string
	for _, term := range []string{fmt.Sprintf("svc-%06d", n*42/100), fmt.Sprintf("Service %d", n*73/100), fmt.Sprint(n * 31 / 100)} {
		for i := 1; i <= len(term); i++ {
			out = append(out, term[:i])
		}
	}
	return out
}

// PickerQuery is the query an entity picker of the web UI sends for term
// (web/src/fields/search.ts): Components, the typed text matched against
// name, title and display name, by name, a page of 20, as alice of
// team-0000 under the default policy (she reads the sensitive components
// her team owns, and no other: PickerTerms' components among them).
func PickerQuery(tb testing.TB, term string, total bool) store.Query {
	tb.Helper()
	pol, err := permission.Default()
	if err != nil {
		tb.Fatal(err)
	}
	pr := permission.Principal{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-0000"}}
	return store.Query{
		Filter:         store.Filter{{{Key: "kind", Values: []string{"component"}}}},
		Order:          []store.Order{{Field: "metadata.name"}},
		FullText:       term,
		FullTextFields: []string{"metadata.name", "metadata.title", "spec.profile.displayName"},
		Access:         must(pol.EntityFilter(pr, permission.EntityRead)),
		Limit:          20,
		NoTotal:        !total,
	}
}

// BenchPickerQuery loads n components (and 13.5% as many other entities,
// in locations of 10,000) and times an entity picker's queries
// (PickerQuery) for every PickerTerms text: with totalItems counted (what
// a Backstage client gets) and without (what the pickers ask for). p50
// and p95 in ms over all texts of each mode (wall clock, and this
// process's CPU time), and each text's median in the log.
func BenchPickerQuery(b *testing.B, open func(b *testing.B) store.Store, n int) {
	ctx := context.Background()
	s := open(b)
	all := pickerEntities(b, n)
	t0 := time.Now()
	for from := 0; from < len(all); from += benchChunk {
		loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: fmt.Sprintf("/picker-%d.yaml", from)}))
		must(s.ReplaceLocation(ctx, loc.ID, all[from:min(from+benchChunk, len(all))], store.ReplaceOptions{Orphans: store.OrphanDelete}))
	}
	b.ReportMetric(time.Since(t0).Seconds(), "s-load")
	terms := PickerTerms(n)
	// Warm both modes once (first statements prepare, caches fill).
	for _, total := range []bool{true, false} {
		for _, term := range terms {
			must(s.Query(ctx, PickerQuery(b, term, total)))
		}
	}
	const reps = 5
	per, cpu := map[string][]time.Duration{}, map[string][]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for range reps {
			for _, total := range []bool{true, false} {
				for _, term := range terms {
					q := PickerQuery(b, term, total)
					c, t := cpuTime(), time.Now()
					p, err := s.Query(ctx, q)
					d, dc := time.Since(t), cpuTime()-c
					if err != nil {
						b.Fatal(err)
					}
					if len(p.Entities) == 0 {
						b.Fatalf("picker %q: no results", term)
					}
					mode := "no-total"
					if total {
						mode = "total"
					}
					per[mode+"\x00"+term] = append(per[mode+"\x00"+term], d)
					per[mode] = append(per[mode], d)
					cpu[mode+"\x00"+term] = append(cpu[mode+"\x00"+term], dc)
					cpu[mode] = append(cpu[mode], dc)
				}
			}
		}
	}
	b.StopTimer()
	var lines []string
	for _, mode := range []string{"total", "no-total"} {
		ReportLatencies(b, mode, per[mode], cpu[mode], 0.95)
		for _, term := range terms {
			ds, cs := per[mode+"\x00"+term], cpu[mode+"\x00"+term]
			slices.Sort(ds)
			slices.Sort(cs)
			lines = append(lines, fmt.Sprintf("%-8s %-14q p50 %7.1f ms  max %7.1f ms  cpu p50 %7.1f ms", mode, term, percentileMS(ds, 0.5), percentileMS(ds, 1), percentileMS(cs, 0.5)))
		}
	}
	b.Logf("picker queries at %d components:\n%s", n, strings.Join(lines, "\n"))
}
