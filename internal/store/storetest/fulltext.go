package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// testFullTextPaging: a full-text query paged by cursor, forwards to the
// end and back again, gives exactly the matching entities a reader may
// see, in order, with the right totalItems or none (NoTotal) — for texts
// that nearly every entity holds, texts whose matches all lie beyond the
// first few thousand rows in order, and texts nothing holds; over name
// (both directions), ref and the default order, for one kind, two kinds
// and any kind. 3,000 entities, so a
// store's shortcuts for broad texts meet their limits here.
func testFullTextPaging(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	const n = 3000
	var rows []store.Entity
	type fixture struct {
		ref, name, title string
		kind             string
		visible          bool
	}
	var all []fixture
	for i := range n {
		kind := "Component"
		if i%7 == 3 {
			kind = "API"
		}
		name := fmt.Sprintf("c-%04d", i)
		if i%11 == 5 {
			name = fmt.Sprintf("C_%04d", i) // upper case and a LIKE wildcard
		}
		md := map[string]any{"name": name, "namespace": "default", "title": fmt.Sprintf("Item %d%%", i)}
		sensitive := i%13 == 0
		if sensitive {
			md["annotations"] = map[string]any{"rigger.dev/sensitive": "true"}
		}
		spec := map[string]any{"type": "service", "lifecycle": "production", "owner": fmt.Sprintf("team-%d", i%3)}
		if kind == "API" {
			spec["type"], spec["definition"] = "openapi", "x"
		}
		row, err := catalog.Row(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": md, "spec": spec})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
		all = append(all, fixture{ref: row.Ref, name: strings.ToLower(name), title: strings.ToLower(md["title"].(string)),
			kind: strings.ToLower(kind), visible: !sensitive || i%3 == 1})
	}
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/fulltext.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows, store.ReplaceOptions{Orphans: store.OrphanDelete}))

	pol, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	access := must(pol.EntityFilter(permission.Principal{Ref: "user:default/bob", Ent: []string{"user:default/bob", "group:default/team-1"}}, permission.EntityRead))
	fields := []string{"metadata.name", "metadata.title"}
	components := store.Filter{{{Key: "kind", Values: []string{"component"}}}}

	byName := []store.Order{{Field: "metadata.name"}}
	type variant struct {
		filter store.Filter
		order  []store.Order
		fields []string
	}
	variants := []variant{{components, byName, fields}, {components, []store.Order{{Field: "metadata.name", Desc: true}}, fields}, {components, []store.Order{{Field: "ref"}}, fields}, {components, nil, fields},
		{nil, byName, fields}, {store.Filter{{{Key: "kind", Values: []string{"component", "api"}}}}, byName, fields}}
	type textCase struct {
		term     string
		variants []variant
	}
	var cases []textCase
	for _, term := range []string{"c", "C-0", "item 12", "c-29", "2999", "_00", "5%", "zzz"} {
		cases = append(cases, textCase{term, variants})
	}
	// Every field (none named): only titles hold "item", so the oracle
	// below still holds.
	for _, term := range []string{"item", "item 29"} {
		cases = append(cases, textCase{term, []variant{{components, byName, nil}}})
	}
	for _, tc := range cases {
		term := tc.term
		for _, v := range tc.variants {
			order := v.order
			for _, noTotal := range []bool{false, true} {
				t.Run(fmt.Sprintf("%q/%v/%v/%v/noTotal=%v", term, v.filter, order, v.fields, noTotal), func(t *testing.T) {
					var want []string
					needle := strings.ToLower(term)
					for _, f := range all {
						if (v.filter == nil || f.kind == "component" || len(v.filter[0][0].Values) == 2) && f.visible &&
							(strings.Contains(f.name, needle) || strings.Contains(f.title, needle)) {
							want = append(want, f.ref)
						}
					}
					key := func(ref string) string { // refs are kind:namespace/name
						if len(order) == 1 && order[0].Field == "metadata.name" {
							return ref[strings.LastIndex(ref, "/")+1:]
						}
						return ref
					}
					slices.SortFunc(want, func(a, b string) int { return cmp.Compare(key(a), key(b)) })
					if len(order) == 1 && order[0].Desc {
						slices.Reverse(want)
					}
					q := store.Query{Filter: v.filter, Order: order, FullText: term, FullTextFields: v.fields, Access: access, Limit: 40, NoTotal: noTotal}
					var got []string
					var pages []store.Page
					for {
						p := must(s.Query(ctx, q))
						wantTotal := len(want)
						if noTotal {
							wantTotal = 0
						}
						if p.TotalItems != wantTotal {
							t.Fatalf("page %d: totalItems %d, want %d", len(pages), p.TotalItems, wantTotal)
						}
						got = append(got, names(p.Entities)...)
						pages = append(pages, p)
						if !p.HasMore || len(pages) > n/40+1 {
							break
						}
						q.After = p.Last
					}
					if !slices.Equal(got, want) {
						t.Fatalf("forward pages: %d entities %v…, want %d %v…", len(got), head(got), len(want), head(want))
					}
					// Back from the last page, each page is the one before.
					for i := len(pages) - 1; i > 0; i-- {
						q.After, q.Before = nil, pages[i].First
						p := must(s.Query(ctx, q))
						if g, w := names(p.Entities), names(pages[i-1].Entities); !slices.Equal(g, w) || p.HasMore != (i > 1) {
							t.Fatalf("page %d backwards: %v (more %v), want %v", i-1, head(g), p.HasMore, head(w))
						}
					}
				})
			}
		}
	}
}

func head(refs []string) []string { return refs[:min(len(refs), 5)] }
