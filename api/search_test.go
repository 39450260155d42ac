package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// wireSearch is GET /api/search/query's body as a Backstage client reads it.
type wireSearch struct {
	Results []struct {
		Type      string         `json:"type"`
		Document  map[string]any `json:"document"`
		Highlight *struct {
			PreTag  string            `json:"preTag"`
			PostTag string            `json:"postTag"`
			Fields  map[string]string `json:"fields"`
		} `json:"highlight"`
		Rank int `json:"rank"`
	} `json:"results"`
	NextPageCursor     string `json:"nextPageCursor"`
	PreviousPageCursor string `json:"previousPageCursor"`
	NumberOfResults    int    `json:"numberOfResults"`
	Facets             struct {
		Type []store.FacetCount `json:"type"`
		Kind []store.FacetCount `json:"kind"`
	} `json:"facets"`
}

func (w wireSearch) locations() []string {
	out := []string{}
	for _, r := range w.Results {
		out = append(out, r.Document["location"].(string))
	}
	return out
}

func search(t *testing.T, srv *Server, user, query string) wireSearch {
	t.Helper()
	var out wireSearch
	var body string
	if code := call(t, srv, user, "GET", "/api/search/query?"+query, "", &out); code != http.StatusOK {
		call(t, srv, user, "GET", "/api/search/query?"+query, "", &body)
		t.Fatalf("search %s as %s: %d %s", query, user, code, body)
	}
	return out
}

// TestSearchAPI: Backstage's query parameters and response shape over a
// real store under the default policy; alice (team-a) never sees, counts
// or facets team-b's sensitive entity or its docs, carol does.
func TestSearchAPI(t *testing.T) {
	srv, st := policyServer(t)
	ctx := context.Background()
	docs := []store.DocsSearchDoc{{Location: "guide/#installing", Title: "Installing svc-a", Text: "Run make install."}}
	if err := st.ReplaceDocsIndex(ctx, "component:default/svc-a", docs); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceDocsIndex(ctx, "component:default/secret-b", []store.DocsSearchDoc{{Location: "", Title: "Secret runbook", Text: "Rotate the vault keys."}}); err != nil {
		t.Fatal(err)
	}

	t.Run("Shape", func(t *testing.T) {
		got := search(t, srv, "alice", "term=svc-a&types[]=software-catalog&pageLimit=10")
		if len(got.Results) == 0 {
			t.Fatal("no results")
		}
		r := got.Results[0]
		if r.Type != "software-catalog" || r.Rank != 1 || r.Document["location"] != "/catalog/default/component/svc-a" ||
			r.Document["title"] != "svc-a" || r.Document["kind"] != "Component" || r.Document["namespace"] != "default" ||
			r.Document["owner"] != "team-a" || r.Document["lifecycle"] != "production" || r.Document["componentType"] != "service" ||
			r.Document["type"] != "service" {
			t.Fatalf("first result %+v", r)
		}
		h := r.Highlight
		if h == nil || !strings.HasPrefix(h.PreTag, "<rigger-hl-") || h.PostTag != "</"+h.PreTag[1:] ||
			h.Fields["title"] != h.PreTag+"svc"+h.PostTag+"-"+h.PreTag+"a"+h.PostTag {
			t.Fatalf("highlight %+v", h)
		}
		if got.NumberOfResults != len(got.Results) || got.NextPageCursor != "" || got.PreviousPageCursor != "" {
			t.Fatalf("numberOfResults %d of %d, cursors %q %q", got.NumberOfResults, len(got.Results), got.NextPageCursor, got.PreviousPageCursor)
		}
		// A second request gets other highlight tags.
		again := search(t, srv, "alice", "term=svc-a&types[]=software-catalog")
		if again.Results[0].Highlight.PreTag == h.PreTag {
			t.Fatal("highlight tags are reused")
		}
	})

	t.Run("Docs", func(t *testing.T) {
		got := search(t, srv, "alice", "term=installing&types=techdocs")
		if locs := got.locations(); !slices.Equal(locs, []string{"/docs/default/component/svc-a/guide/#installing"}) {
			t.Fatalf("docs locations %v", locs)
		}
		d := got.Results[0].Document
		if got.Results[0].Type != "techdocs" || d["path"] != "guide/#installing" || d["entityTitle"] != "svc-a" || d["title"] != "Installing svc-a" || d["name"] != "svc-a" {
			t.Fatalf("docs document %+v", d)
		}
	})

	t.Run("Permissions", func(t *testing.T) {
		for _, term := range []string{"secret", "secre", "scret", "runbook", "vault", "production", ""} {
			q := "term=" + url.QueryEscape(term) + "&pageLimit=100"
			alice, carol := search(t, srv, "alice", q), search(t, srv, "carol", q)
			for _, loc := range alice.locations() {
				if strings.Contains(loc, "secret-b") {
					t.Fatalf("alice finds %s with %q", loc, term)
				}
			}
			hidden := 0
			for _, loc := range carol.locations() {
				if strings.Contains(loc, "secret-b") {
					hidden++
				}
			}
			if term != "production" && term != "" && hidden == 0 {
				t.Fatalf("carol does not find secret-b with %q: %v", term, carol.locations())
			}
			if alice.NumberOfResults != carol.NumberOfResults-hidden {
				t.Fatalf("%q: alice counts %d, carol %d with %d hidden", term, alice.NumberOfResults, carol.NumberOfResults, hidden)
			}
			n := 0
			for _, f := range alice.Facets.Kind {
				n += f.Count
			}
			if n != alice.NumberOfResults {
				t.Fatalf("%q: alice's kind facets count %d, numberOfResults %d", term, n, alice.NumberOfResults)
			}
		}
	})

	t.Run("FiltersAndPaging", func(t *testing.T) {
		all := search(t, srv, "carol", "term=&filters[kind]=component&types[]=software-catalog")
		// The kind facet counts every kind (the kind filter narrows the rest).
		if all.NumberOfResults != 3 || fmt.Sprint(all.Facets.Kind) != "[{Component 3} {Group 2}]" || fmt.Sprint(all.Facets.Type) != "[{software-catalog 3} {techdocs 2}]" {
			t.Fatalf("components: %d, facets %+v", all.NumberOfResults, all.Facets)
		}
		var seen []string
		q := "term=&filters[kind][]=component&types[]=software-catalog&pageLimit=1"
		for range 5 {
			page := search(t, srv, "carol", q)
			seen = append(seen, page.locations()...)
			if page.NextPageCursor == "" {
				break
			}
			if len(seen) > 1 && page.PreviousPageCursor == "" {
				t.Fatal("no previousPageCursor after the first page")
			}
			q = "term=&filters[kind][]=component&types[]=software-catalog&pageLimit=1&pageCursor=" + page.NextPageCursor
		}
		want := all.locations()
		slices.Sort(seen)
		slices.Sort(want)
		if !slices.Equal(seen, want) {
			t.Fatalf("pages gave %v", seen)
		}
		if got := search(t, srv, "carol", "term=&filters[lifecycle]=production&filters[owner]=team-b&types=software-catalog"); !slices.Equal(got.locations(), []string{"/catalog/default/component/secret-b"}) {
			t.Fatalf("owner filter: %v", got.locations())
		}
	})

	t.Run("HostileInput", func(t *testing.T) {
		for _, c := range []struct {
			query, message string
		}{
			{"term=" + strings.Repeat("x", 5000), "the search term has 5000 characters; at most 200 are accepted"},
			{"term=svc&pageCursor=bm9wZQ", "malformed pageCursor"},
			{"term=svc&pageLimit=1000", "pageLimit must be a whole number between 1 and 100"},
			{"term=svc&filters[color]=red", "unknown search filter"},
			{"term=svc&types[]=nope", "unknown search type"},
			{"term=" + strings.Repeat("a+", 5000), "the search query string has 10005 bytes; at most 8192 are accepted"},
		} {
			var body string
			if code := call(t, srv, "alice", "GET", "/api/search/query?"+c.query, "", &body); code != http.StatusBadRequest || !strings.Contains(body, c.message) {
				t.Errorf("%s: %d %s, want 400 saying %q", clip(c.query, 60), code, clip(body, 300), c.message)
			}
		}
		for _, term := range []string{`"`, `*`, `NEAR`, `-`, `:`, `(`, `svc"*`, `svc) OR (secret`, `' OR 1=1 --`, `svc:*`, `!secret`} {
			got := search(t, srv, "alice", "term="+url.QueryEscape(term))
			for _, loc := range got.locations() {
				if strings.Contains(loc, "secret-b") {
					t.Fatalf("term %q shows alice secret-b", term)
				}
			}
		}
		var body string
		if code := call(t, srv, "guest", "GET", "/api/search/query?term=svc", "", &body); code != http.StatusUnauthorized {
			t.Fatalf("guest search: %d %s", code, body)
		}
		var raw map[string]any
		call(t, srv, "alice", "GET", "/api/search/query?term=zzzzzz", "", &raw)
		if b, _ := json.Marshal(raw); string(b) != `{"facets":{"kind":[],"type":[]},"numberOfResults":0,"results":[]}` {
			t.Fatalf("empty result set: %s", b)
		}
	})
}
