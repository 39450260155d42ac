package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// searchCatalog is what the search tests index: team-a's payments
// service with docs, team-b's sensitive ledger, and widgets to page.
const searchCatalog = `
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-service
  title: Payments Service
  description: Handles card settlement and refunds for the shop.
  tags: [java, billing]
spec: {type: service, lifecycle: production, owner: team-a, system: checkout}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: payments, description: The payments library.}
spec: {type: library, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: payments-api, description: REST API of payments-service.}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: secret-ledger
  title: Secret Ledger
  description: Settlement ledger of team-b, sensitive.
  annotations: {rigger.dev/sensitive: "true"}
spec: {type: service, lifecycle: production, owner: team-b}
`

// widgets are n components to page through: "widget-0" ... .
func widgets(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: widget-%d, description: A gizmo widget.}\nspec: {type: service, lifecycle: experimental, owner: team-a}\n", i)
	}
	return b.String()
}

// rows parses a catalog YAML document into store rows, as a refresh
// writes them.
func rows(t testing.TB, yaml string) []store.Entity {
	t.Helper()
	docs, err := catalog.Parse("catalog.yaml", []byte(yaml), catalog.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.Entity, 0, len(docs))
	for _, d := range docs {
		if len(d.Errors) > 0 {
			t.Fatalf("%s: %v", d.Ref, d.Errors[0])
		}
		row, err := catalog.Row(d.Entity)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
	return out
}

// readFilter is what the default policy lets who read (action: entity
// or docs read): the filter the catalog service hands the store.
func readFilter(t *testing.T, ref string, ent []string, action string) *store.Expr {
	t.Helper()
	pol, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	e, err := pol.EntityFilter(permission.Principal{Ref: ref, Ent: ent}, action)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const pre, post = "<hl>", "</hl>"

// found runs a search and returns its results as "type ref path" strings.
func found(t *testing.T, s store.Store, q store.SearchQuery) (store.SearchPage, []string) {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 25
	}
	if q.PreTag == "" {
		q.PreTag, q.PostTag = pre, post
	}
	p, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %q: %v", q.Term, err)
	}
	out := []string{}
	for _, r := range p.Results {
		out = append(out, strings.TrimSpace(r.Type+" "+r.EntityRef+" "+r.Path))
	}
	return p, out
}

const (
	payments = "software-catalog component:default/payments-service"
	paylib   = "software-catalog component:default/payments"
	payAPI   = "software-catalog api:default/payments-api"
	ledger   = "software-catalog component:default/secret-ledger"
)

func testSearch(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/search.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, searchCatalog), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	docs := []store.DocsSearchDoc{
		{Location: "", Title: "Payments handbook", Text: "How the payments service settles cards."},
		{Location: "guide/", Title: "Guide", Text: "Day to day operation."},
		{Location: "guide/#installing-the-agent", Title: "Installing the agent", Text: "Run the installer on every host."},
	}
	if err := s.ReplaceDocsIndex(ctx, "Component:default/payments-service", docs); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceDocsIndex(ctx, "component:default/nope", docs); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("docs of a missing entity: %v", err)
	}
	catalogOnly := []string{store.SearchTypeCatalog}

	t.Run("FoundAtOnce", func(t *testing.T) {
		for _, c := range []struct {
			name, term string
			want       string
			first      bool
		}{
			{"exact name first", "payments", paylib, true},
			{"exact full name first", "payments-service", payments, true},
			{"one-letter typo of a name", "paymants", paylib, false},
			{"a swap of letters", "paymnets", paylib, false},
			{"a missing letter", "paments-service", payments, true},
			{"an extra letter", "ledgers", ledger, true},
			{"prefix", "paym", paylib, false},
			{"word of the description", "refunds", payments, true},
			{"title words, any case", "PAYMENTS serv", payments, true},
			{"owner and tags", "billing team", payments, true},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, got := found(t, s, store.SearchQuery{Term: c.term, Types: catalogOnly})
				if c.first && (len(got) == 0 || got[0] != c.want) || !slices.Contains(got, c.want) {
					t.Fatalf("search %q: %v, want %s (first: %v)", c.term, got, c.want, c.first)
				}
			})
		}
		// No typo tolerance under 5 letters; unrelated words find nothing.
		for _, term := range []string{"paxm", "zzzzzz", "payments zzzzzz"} {
			if p, got := found(t, s, store.SearchQuery{Term: term}); len(got) != 0 || p.Total != 0 {
				t.Errorf("search %q: %v (total %d), want nothing", term, got, p.Total)
			}
		}
	})

	t.Run("Ranking", func(t *testing.T) {
		p, got := found(t, s, store.SearchQuery{Term: "payments", Types: catalogOnly})
		// Exact name, then name prefixes (by rank), nothing else between.
		if len(got) < 3 || got[0] != paylib || !slices.Contains(got[1:3], payments) || !slices.Contains(got[1:3], payAPI) {
			t.Fatalf("ranking: %v", got)
		}
		for i, r := range p.Results {
			if r.Rank != i+1 {
				t.Fatalf("rank of result %d is %d", i, r.Rank)
			}
		}
	})

	t.Run("Highlights", func(t *testing.T) {
		p, _ := found(t, s, store.SearchQuery{Term: "paym settle", Types: catalogOnly})
		if len(p.Results) == 0 {
			t.Fatal("no result")
		}
		r := p.Results[0]
		if r.EntityRef != "component:default/payments-service" || r.HighlightTitle != pre+"Payments"+post+" Service" ||
			!strings.Contains(r.HighlightText, pre+"settlement"+post) {
			t.Fatalf("highlights %+v", r)
		}
		if r.Kind != "Component" || r.Namespace != "default" || r.Name != "payments-service" || r.Owner != "team-a" ||
			r.Lifecycle != "production" || r.SpecType != "service" || r.Title != "Payments Service" {
			t.Fatalf("document fields %+v", r)
		}
	})

	t.Run("Docs", func(t *testing.T) {
		p, got := found(t, s, store.SearchQuery{Term: "installing", Types: []string{store.SearchTypeDocs}})
		want := []string{"techdocs component:default/payments-service guide/#installing-the-agent"}
		if !slices.Equal(got, want) {
			t.Fatalf("docs by a heading word: %v, want %v", got, want)
		}
		if r := p.Results[0]; r.Title != "Installing the agent" || r.HighlightTitle != pre+"Installing"+post+" the agent" || r.EntityTitle != "Payments Service" {
			t.Fatalf("docs result %+v", r)
		}
		// A typo of a heading word; the body text by prefix.
		if _, got := found(t, s, store.SearchQuery{Term: "instaling", Types: []string{store.SearchTypeDocs}}); !slices.Equal(got, want) {
			t.Fatalf("docs by a typo: %v", got)
		}
		if _, got := found(t, s, store.SearchQuery{Term: "installe", Types: []string{store.SearchTypeDocs}}); !slices.Equal(got, want) {
			t.Fatalf("docs by a prefix of the text: %v", got)
		}
		// Replacing the docs drops the old pages.
		must(0, s.ReplaceDocsIndex(ctx, "component:default/payments-service", docs[:2]))
		if _, got := found(t, s, store.SearchQuery{Term: "installing"}); len(got) != 0 {
			t.Fatalf("replaced docs still found: %v", got)
		}
		must(0, s.ReplaceDocsIndex(ctx, "component:default/payments-service", docs))
	})

	t.Run("Facets", func(t *testing.T) {
		p, _ := found(t, s, store.SearchQuery{Term: "payments"})
		if p.Total != 4 || fmt.Sprint(p.TypeFacets) != "[{software-catalog 3} {techdocs 1}]" || fmt.Sprint(p.KindFacets) != "[{Component 3} {API 1}]" {
			t.Fatalf("total %d, type facets %v, kind facets %v", p.Total, p.TypeFacets, p.KindFacets)
		}
		// A kind filter narrows results and the type facet, not the kind facet.
		p, got := found(t, s, store.SearchQuery{Term: "payments", Kinds: []string{"api"}})
		if !slices.Equal(got, []string{payAPI}) || p.Total != 1 || fmt.Sprint(p.TypeFacets) != "[{software-catalog 1}]" || fmt.Sprint(p.KindFacets) != "[{Component 3} {API 1}]" {
			t.Fatalf("kind filter: %v total %d facets %v %v", got, p.Total, p.TypeFacets, p.KindFacets)
		}
		p, got = found(t, s, store.SearchQuery{Term: "payments", Filters: []store.Cond{{Key: "spec.type", Values: []string{"Library"}}}})
		if !slices.Equal(got, []string{paylib}) || p.Total != 1 {
			t.Fatalf("spec.type filter: %v total %d", got, p.Total)
		}
		// A relation filter reads the relations of each document's entity.
		p, got = found(t, s, store.SearchQuery{Term: "settlement", Types: []string{store.SearchTypeCatalog}, Filters: []store.Cond{{Key: "relations.ownedBy", Values: []string{"group:default/team-b"}}}})
		if !slices.Equal(got, []string{ledger}) || p.Total != 1 {
			t.Fatalf("relations.ownedBy filter: %v total %d", got, p.Total)
		}
	})

	t.Run("Permissions", func(t *testing.T) {
		aliceEnt := []string{"user:default/alice", "group:default/team-a"}
		alice := store.SearchQuery{Access: readFilter(t, "user:default/alice", aliceEnt, permission.EntityRead),
			DocsAccess: readFilter(t, "user:default/alice", aliceEnt, permission.DocsRead)}
		bobEnt := []string{"user:default/bob", "group:default/team-b"}
		bob := store.SearchQuery{Access: readFilter(t, "user:default/bob", bobEnt, permission.EntityRead),
			DocsAccess: readFilter(t, "user:default/bob", bobEnt, permission.DocsRead)}
		must(0, s.ReplaceDocsIndex(ctx, "component:default/secret-ledger", []store.DocsSearchDoc{{Location: "#vault", Title: "Settlement vault", Text: "Where the ledger lives."}}))
		for _, term := range []string{"ledger", "secret", "settlement", "vault", "ledgr", ""} {
			q := alice
			q.Term = term
			p, got := found(t, s, q)
			for _, r := range p.Results {
				if r.EntityRef == "component:default/secret-ledger" {
					t.Fatalf("alice finds team-b's sensitive entity with %q: %v", term, got)
				}
			}
			all, _ := found(t, s, store.SearchQuery{Term: term})
			bobs := bob
			bobs.Term = term
			pb, _ := found(t, s, bobs)
			hidden := 0
			for _, r := range all.Results {
				if r.EntityRef == "component:default/secret-ledger" {
					hidden++
				}
			}
			if hidden == 0 {
				t.Fatalf("search %q: the sensitive entity is not found at all (test proves nothing)", term)
			}
			if p.Total != all.Total-hidden || pb.Total != all.Total {
				t.Fatalf("search %q: alice counts %d, bob %d, everything %d (%d hidden)", term, p.Total, pb.Total, all.Total, hidden)
			}
			var facet int
			for _, f := range p.TypeFacets {
				facet += f.Count
			}
			var kinds int
			for _, f := range p.KindFacets {
				kinds += f.Count
			}
			if facet != p.Total || kinds != p.Total {
				t.Fatalf("search %q: alice's facets count %d and %d, total %d", term, facet, kinds, p.Total)
			}
		}
	})

	t.Run("Paging", func(t *testing.T) {
		must(s.ReplaceLocation(ctx, loc.ID, rows(t, searchCatalog+widgets(11)), store.ReplaceOptions{Orphans: store.OrphanDelete}))
		var got []string
		q := store.SearchQuery{Term: "gizmo", Limit: 4}
		for range 10 {
			p, page := found(t, s, q)
			if p.Total != 11 {
				t.Fatalf("total %d", p.Total)
			}
			got = append(got, page...)
			if !p.HasMore {
				break
			}
			q.Offset += q.Limit
		}
		slices.Sort(got)
		if len(got) != 11 || len(slices.Compact(slices.Clone(got))) != 11 {
			t.Fatalf("pages returned %d results (%v), want each of 11 once", len(got), got)
		}
		if _, all := found(t, s, store.SearchQuery{Term: "", Kinds: []string{"component"}, Types: catalogOnly, Limit: 100}); len(all) != 14 {
			t.Fatalf("an empty term lists every component: %v", all)
		}
	})

	t.Run("UpdateAndDelete", func(t *testing.T) {
		changed := strings.Replace(searchCatalog, "card settlement and refunds", "chargebacks", 1)
		must(s.ReplaceLocation(ctx, loc.ID, rows(t, changed), store.ReplaceOptions{Orphans: store.OrphanDelete}))
		if _, got := found(t, s, store.SearchQuery{Term: "refunds"}); len(got) != 0 {
			t.Fatalf("old description still found: %v", got)
		}
		if _, got := found(t, s, store.SearchQuery{Term: "chargebacks"}); !slices.Equal(got, []string{payments}) {
			t.Fatalf("new description: %v", got)
		}
		// An update keeps the entity's docs.
		if _, got := found(t, s, store.SearchQuery{Term: "installing"}); len(got) != 1 {
			t.Fatalf("docs after an update: %v", got)
		}
		// Gone from the location: gone from results, counts and docs.
		without := strings.Replace(changed, "name: payments-service", "name: other-service", 1)
		must(s.ReplaceLocation(ctx, loc.ID, rows(t, without), store.ReplaceOptions{Orphans: store.OrphanDelete}))
		for _, term := range []string{"payments-service", "chargebacks", "installing", "handbook", ""} {
			p, got := found(t, s, store.SearchQuery{Term: term})
			for _, r := range p.Results {
				if r.EntityRef == "component:default/payments-service" {
					t.Fatalf("deleted entity still found by %q: %v", term, got)
				}
			}
			if (term == "installing" || term == "handbook") && p.Total != 0 {
				t.Fatalf("deleted entity still counted for %q: %v (total %d)", term, got, p.Total)
			}
		}
		// Back again, with a new id: its old docs rows do not return.
		must(s.ReplaceLocation(ctx, loc.ID, rows(t, changed), store.ReplaceOptions{Orphans: store.OrphanDelete}))
		if _, got := found(t, s, store.SearchQuery{Term: "installing"}); len(got) != 0 {
			t.Fatalf("docs rows survived their entity: %v", got)
		}
		// DeleteEntity and DeleteLocation remove rows too.
		e := must(s.EntityByRef(ctx, "component:default/payments"))
		must(0, s.DeleteEntity(ctx, e.UID))
		if _, got := found(t, s, store.SearchQuery{Term: "payments", Types: catalogOnly}); slices.Contains(got, paylib) {
			t.Fatalf("deleted entity found: %v", got)
		}
		must(0, s.DeleteLocation(ctx, loc.ID))
		if p, got := found(t, s, store.SearchQuery{Term: ""}); len(got) != 0 || p.Total != 0 {
			t.Fatalf("after deleting the location: %v", got)
		}
	})

	t.Run("HostileTerms", func(t *testing.T) {
		loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/hostile.yaml"}))
		must(s.ReplaceLocation(ctx, loc.ID, rows(t, searchCatalog), store.ReplaceOptions{Orphans: store.OrphanDelete}))
		for _, term := range []string{`"`, `*`, `NEAR`, `-`, `:`, `(`, `)`, `payments"`, `"payments`, `payments*`, `NEAR(payments service)`,
			`payments OR zzz`, `-payments`, `title:payments`, `^payments`, `payments AND NOT service`, `'; DROP TABLE entities; --`,
			`payments' | 'x`, `!payments`, `payments & x`, `{payments}`, `%`, `_`, `\`, "\x00", "pay\xffments", "pay\u0301ments"} {
			p, err := s.Search(ctx, store.SearchQuery{Term: term, Limit: 10, PreTag: pre, PostTag: post})
			if err != nil {
				t.Fatalf("term %q: %v", term, err)
			}
			// Operators are words or separators: "payments OR zzz" needs zzz.
			if term == `payments OR zzz` && p.Total != 0 {
				t.Fatalf("OR acted as an operator: %d results", p.Total)
			}
			if term == `-payments` && p.Total == 0 {
				t.Fatal("'-' acted as NOT")
			}
		}
		must(s.EntityByRef(ctx, "component:default/payments")) // still there
		long := strings.Repeat("a", store.MaxSearchTermRunes+1)
		if _, err := s.Search(ctx, store.SearchQuery{Term: long, Limit: 10}); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("huge term: %v", err)
		}
		if _, err := s.Search(ctx, store.SearchQuery{Term: strings.Repeat("ab ", 20) + "c d e f g h i j k l m n o", Limit: 10}); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("too many words: %v", err)
		}
		if _, err := s.Search(ctx, store.SearchQuery{Term: "x", Limit: 10, PreTag: `"><script>`, PostTag: "b"}); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("hostile highlight tag: %v", err)
		}
		if _, err := s.Search(ctx, store.SearchQuery{Term: "x", Limit: 10, Types: []string{"nope"}}); !errors.Is(err, errs.ErrInvalid) {
			t.Fatalf("unknown type: %v", err)
		}
	})

	t.Run("TyposOfHiddenNames", func(t *testing.T) { testHiddenTypos(t, open) })
	t.Run("BroadTerms", func(t *testing.T) { testBroadSearch(t, open) })
	t.Run("RankOrder", func(t *testing.T) { testRankOrder(t, open) })
	t.Run("BroadTermsRanked", func(t *testing.T) { testBroadRank(t, open) })

	t.Run("Reindex", func(t *testing.T) {
		must(0, s.ReplaceDocsIndex(ctx, "component:default/payments-service", docs))
		before, want := found(t, s, store.SearchQuery{Term: "paymants"})
		var steps []string
		stored := must(s.Query(ctx, store.Query{Limit: 100})).TotalItems
		must(0, s.ReindexSearch(ctx, func(done, total int) { steps = append(steps, fmt.Sprintf("%d/%d", done, total)) }))
		after, got := found(t, s, store.SearchQuery{Term: "paymants"})
		if !slices.Equal(got, want) || before.Total != after.Total || len(want) == 0 {
			t.Fatalf("after reindex %v (total %d), before %v (total %d)", got, after.Total, want, before.Total)
		}
		if len(steps) == 0 || steps[len(steps)-1] != fmt.Sprintf("%d/%d", stored, stored) {
			t.Fatalf("progress %v", steps)
		}
		if _, got := found(t, s, store.SearchQuery{Term: "instaling"}); len(got) != 1 {
			t.Fatalf("docs rows after reindex: %v", got)
		}
	})
}

// testHiddenTypos: typo candidates are the caller's. 50 sensitive
// entities of team-b have names one edit from alice's typo, all sorting
// before her entity's name: they must neither crowd her entity out of
// her typo's candidates nor be found or counted.
func testHiddenTypos(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	typo := "zorbax" // alice means "zorbas"
	var hidden []string
	for c := 'a'; c < 'z'; c++ {
		hidden = append(hidden, string(c)+typo[1:])
	}
	for c := 'a'; c < 's'; c++ {
		hidden = append(hidden, typo[:5]+string(c))
	}
	for c := 'a'; c < 'o'; c++ {
		hidden = append(hidden, "z"+string(c)+typo[2:])
	}
	hidden = hidden[:50]
	var b strings.Builder
	b.WriteString(searchCatalog)
	for _, w := range hidden {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: %s, annotations: {rigger.dev/sensitive: \"true\"}}\nspec: {type: service, lifecycle: production, owner: team-b}\n", w)
	}
	b.WriteString("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: zorbas}\nspec: {type: service, lifecycle: production, owner: team-a}\n")
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/typos.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, b.String()), store.ReplaceOptions{Orphans: store.OrphanDelete}))

	aliceEnt := []string{"user:default/alice", "group:default/team-a"}
	alice := store.SearchQuery{Term: typo, Access: readFilter(t, "user:default/alice", aliceEnt, permission.EntityRead),
		DocsAccess: readFilter(t, "user:default/alice", aliceEnt, permission.DocsRead)}
	p, got := found(t, s, alice)
	if !slices.Equal(got, []string{"software-catalog component:default/zorbas"}) || p.Total != 1 {
		t.Fatalf("alice's typo %q: %v (total %d), want her zorbas alone", typo, got, p.Total)
	}
	if h := p.Results[0].HighlightTitle; h != pre+"zorbas"+post {
		t.Fatalf("highlight %q", h)
	}
	// Without access limits the hidden names are candidates too (the
	// test would prove nothing otherwise).
	if all, _ := found(t, s, store.SearchQuery{Term: typo}); all.Total < 2 {
		t.Fatalf("unrestricted typo search finds %d", all.Total)
	}
}

// rankCatalog has "falcon" in a different field of each entity: a name
// that starts with it, a word of a name (and so of the title it
// defaults to), a title, a tag, a description (twice, then once), and
// in the name of a sensitive entity of team-b.
const rankCatalog = `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: described-one, description: Feeds the falcon daily.}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: tagged-one, description: Ordinary service for tests., tags: [falcon]}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: wing-api, description: Falcon falcon wing api.}
spec: {type: openapi, lifecycle: production, owner: team-a, definition: "openapi: 3.0.0"}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: tracker-one, title: Falcon Tracker, description: Ordinary service for tests.}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: hidden-falcon, description: Ordinary service for tests., annotations: {rigger.dev/sensitive: "true"}}
spec: {type: service, lifecycle: production, owner: team-b}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: blue-falcon, description: Ordinary service for tests.}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: falcon-core, description: Ordinary service for tests.}
spec: {type: service, lifecycle: production, owner: team-a}
`

// testRankOrder: a term's results come name matches first, then by
// relevance, the field that holds the word deciding (name, title, tags,
// description; more occurrences first), whichever pass ranks them, in
// every page and with a kind filter; what the caller may not read
// takes no place.
func testRankOrder(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/rank.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, rankCatalog), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	ref := func(names ...string) []string {
		var out []string
		for _, n := range names {
			kind := "component"
			if strings.HasSuffix(n, "-api") {
				kind = "api"
			}
			out = append(out, "software-catalog "+kind+":default/"+n)
		}
		return out
	}
	aliceEnt := []string{"user:default/alice", "group:default/team-a"}
	alice := store.SearchQuery{Term: "falcon", Access: readFilter(t, "user:default/alice", aliceEnt, permission.EntityRead),
		DocsAccess: readFilter(t, "user:default/alice", aliceEnt, permission.DocsRead)}
	// Components: each field in its place.
	components := alice
	components.Kinds = []string{"Component"}
	want := ref("falcon-core", "blue-falcon", "tracker-one", "tagged-one", "described-one")
	p, got := found(t, s, components)
	if !slices.Equal(got, want) || p.Total != len(want) || p.HasMore {
		t.Fatalf("alice's components: %v (total %d, more %v), want %v", got, p.Total, p.HasMore, want)
	}
	for _, c := range []struct{ offset, limit int }{{0, 1}, {1, 2}, {2, 3}, {3, 2}, {4, 10}} {
		q := components
		q.Offset, q.Limit = c.offset, c.limit
		p, got := found(t, s, q)
		end := min(c.offset+c.limit, len(want))
		if !slices.Equal(got, want[c.offset:end]) || p.HasMore != (end < len(want)) || p.Total != len(want) {
			t.Fatalf("alice's components from %d, %d: %v (more %v), want %v", c.offset, c.limit, got, p.HasMore, want[c.offset:end])
		}
	}
	// Every kind: the API (a description word twice, which engines weigh
	// differently against a tag) among them, in no other's place.
	p, got = found(t, s, alice)
	if i := slices.Index(got, ref("wing-api")[0]); i < 3 || p.Total != len(want)+1 || !slices.Equal(slices.Delete(slices.Clone(got), i, i+1), want) {
		t.Fatalf("alice: %v (total %d)", got, p.Total)
	}
	apis := alice
	apis.Kinds = []string{"API"}
	if p, got := found(t, s, apis); !slices.Equal(got, ref("wing-api")) || p.Total != 1 {
		t.Fatalf("alice's APIs: %v (total %d)", got, p.Total)
	}
	// Unrestricted, the hidden entity takes its place by its name.
	all, got := found(t, s, store.SearchQuery{Term: "falcon"})
	if want := ref("falcon-core", "blue-falcon", "hidden-falcon"); len(got) < 3 || !slices.Contains(got[1:3], want[2]) || all.Total != 7 {
		t.Fatalf("unrestricted: %v (total %d)", got, all.Total)
	}
}

// testBroadSearch: past store.MaxSearchCount readable matches the counts
// are capped and say so, the page still lists name matches first and
// pages through every match once; what is capped is what the caller may
// read (hidden matches neither count towards the cap nor show).
func testBroadSearch(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	n := store.MaxSearchCount + 100
	var b strings.Builder
	b.WriteString(searchCatalog)
	for i := range n {
		ann := ""
		owner := "team-a"
		if i%2 == 1 {
			ann, owner = `, annotations: {rigger.dev/sensitive: "true"}`, "team-b"
		}
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: part-%d, description: A gizmo part%s}\nspec: {type: service, lifecycle: experimental, owner: %s}\n", i, ann, owner)
	}
	b.WriteString("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: gizmo, description: The gizmo itself.}\nspec: {type: service, lifecycle: experimental, owner: team-a}\n")
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/broad.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, b.String()), store.ReplaceOptions{Orphans: store.OrphanDelete}))

	all, got := found(t, s, store.SearchQuery{Term: "gizmo", Limit: 10})
	if !all.Capped || all.Total != store.MaxSearchCount+1 || len(got) == 0 || got[0] != "software-catalog component:default/gizmo" {
		t.Fatalf("unrestricted: capped %v, total %d, first %v", all.Capped, all.Total, got)
	}
	var seen []string
	q := store.SearchQuery{Term: "gizmo", Limit: 100}
	for range 20 {
		p, page := found(t, s, q)
		seen = append(seen, page...)
		if !p.HasMore {
			break
		}
		q.Offset += q.Limit
	}
	if len(seen) != n+1 || len(slices.Compact(slices.Sorted(slices.Values(seen)))) != n+1 {
		t.Fatalf("paging a capped search returned %d results, want each of %d once", len(seen), n+1)
	}

	aliceEnt := []string{"user:default/alice", "group:default/team-a"}
	alice := store.SearchQuery{Term: "gizmo", Access: readFilter(t, "user:default/alice", aliceEnt, permission.EntityRead),
		DocsAccess: readFilter(t, "user:default/alice", aliceEnt, permission.DocsRead)}
	p, got := found(t, s, alice)
	if want := (n+1)/2 + 1; p.Capped || p.Total != want || got[0] != "software-catalog component:default/gizmo" {
		t.Fatalf("alice: capped %v, total %d (want %d), first %v", p.Capped, p.Total, want, got)
	}
	for _, r := range p.Results {
		if r.Owner == "team-b" {
			t.Fatalf("alice finds %s", r.EntityRef)
		}
	}
	// Names starting with the term, hidden ones among them: alice's come
	// first, in name order, page after page.
	var mine []string
	for i := 0; i < n; i += 2 {
		mine = append(mine, fmt.Sprintf("software-catalog component:default/part-%d", i))
	}
	slices.Sort(mine)
	part := alice
	part.Term, part.Limit = "part", 10
	for _, offset := range []int{0, 10, 200} {
		part.Offset = offset
		if p, got := found(t, s, part); !slices.Equal(got, mine[offset:offset+10]) || !p.HasMore {
			t.Fatalf("alice's names from %d: %v, want %v", offset, got, mine[offset:offset+10])
		}
	}
}

// testBroadRank: past store.MaxSearchCount matches, results are still by
// relevance: the one entity and the one docs page whose titles hold the
// word come first, though written last (last in the index's order);
// paging goes on with the rest.
func testBroadRank(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	n := store.MaxSearchCount + 100
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: item-%d, description: An item of the sprocket line.}\nspec: {type: service, lifecycle: experimental, owner: team-a}\n", i)
	}
	b.WriteString("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: works-hub, title: Sprocket Works, description: Where the line is built.}\nspec: {type: service, lifecycle: experimental, owner: team-a}\n")
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/broad-rank.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, rows(t, b.String()), store.ReplaceOptions{Orphans: store.OrphanDelete}))
	var docs []store.DocsSearchDoc
	for i := range 20 {
		docs = append(docs, store.DocsSearchDoc{Location: fmt.Sprintf("p%d/", i), Title: fmt.Sprintf("Page %d", i), Text: "Mentions a sprocket once."})
	}
	docs = append(docs, store.DocsSearchDoc{Location: "sprockets/", Title: "Sprocket handling", Text: "How to handle a sprocket."})
	if err := s.ReplaceDocsIndex(ctx, "component:default/item-3", docs); err != nil {
		t.Fatal(err)
	}
	for _, term := range []string{"sprocket", "sprock"} {
		p, got := found(t, s, store.SearchQuery{Term: term, Limit: 5})
		best := []string{"software-catalog component:default/works-hub", "techdocs component:default/item-3 sprockets/"}
		if !p.Capped || len(got) < 2 || !slices.Equal(slices.Sorted(slices.Values(got[:2])), best) {
			t.Fatalf("%q: capped %v, first %v, want the entity and the page titled with it", term, p.Capped, got)
		}
		dp, got := found(t, s, store.SearchQuery{Term: term, Types: []string{store.SearchTypeDocs}, Limit: 3})
		if len(got) == 0 || got[0] != "techdocs component:default/item-3 sprockets/" {
			t.Fatalf("%q docs: %v", term, got)
		}
		// The counts stop at the first MaxSearchCount+1 matches of any
		// type, which here need hold no page: a capped total is still at
		// least what the pages show.
		if !dp.HasMore || dp.Total < len(got)+1 {
			t.Fatalf("%q docs: total %d (capped %v) with %d results and more to come", term, dp.Total, dp.Capped, len(got))
		}
		// The next page goes on with what is left, none repeated.
		next, got2 := found(t, s, store.SearchQuery{Term: term, Limit: 5, Offset: 5})
		if len(got2) != 5 || !next.HasMore || slices.ContainsFunc(got2, func(r string) bool { return strings.Contains(r, "works-hub") }) {
			t.Fatalf("%q page 2: %v", term, got2)
		}
	}
}
