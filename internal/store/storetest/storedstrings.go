package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
)

// storedStrings are values each write path must store byte for byte: the
// escapes of text formats (COPY's \N, \t, \\; CSV's quotes), SQL's
// quotes, characters outside ASCII, the empty string.
var storedStrings = []string{`a\b`, `\`, `\N`, `\\N`, "a\tb", "a\nb", "\r", "a\r\nb", `'`, `''`, `"`, `a,b`, `{a,b}`, `NULL`,
	"a\u00e9b \u2603", "\u00a0", "\U0001F680", "\u6f22\u5b57", "\\.", "x\v\fy", ""}

// testStoredStrings: search rows, bodies and entity columns of values
// with every storedStrings value are read back as written: by filter (the
// lower-cased value), in facets (the original) and in the body, in a
// batch large enough to be a first load and again in a small update.
func testStoredStrings(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	annotations := map[string]any{}
	for i, v := range storedStrings {
		annotations[fmt.Sprintf("k%d", i)] = v
		annotations[fmt.Sprintf("upper%d", i)] = "X" + v
	}
	odd := func(name string) store.Entity {
		e := ent("Component", name, map[string]string{"type": "service", "owner": "team-a"})
		var body map[string]any
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		body["metadata"].(map[string]any)["annotations"] = annotations
		e.Body = must(json.Marshal(body))
		e.Hash = fmt.Sprintf("%x", e.Body)
		for i, v := range storedStrings {
			e.Search = append(e.Search,
				store.SearchRow{Key: fmt.Sprintf("metadata.annotations.k%d", i), Value: strings.ToLower(v), Original: v},
				store.SearchRow{Key: fmt.Sprintf("metadata.annotations.upper%d", i), Value: "x" + strings.ToLower(v), Original: "X" + v})
		}
		return e
	}
	check := func(step string, e store.Entity) {
		t.Helper()
		got := must(s.EntityByRef(ctx, e.Ref))
		if !bytes.Equal(got.Body, e.Body) {
			t.Fatalf("%s: body\n%s\nwant\n%s", step, got.Body, e.Body)
		}
		name := strings.TrimPrefix(e.Ref, "component:default/")
		var keys []string
		for i, v := range storedStrings {
			for key, val := range map[string]string{fmt.Sprintf("k%d", i): v, fmt.Sprintf("upper%d", i): "x" + v} {
				key = "metadata.annotations." + key
				keys = append(keys, key)
				page := must(s.Query(ctx, store.Query{Limit: 5, Filter: store.Filter{{{Key: "metadata.name", Values: []string{name}},
					{Key: key, Values: []string{val}}}}}))
				if len(page.Entities) != 1 || page.Entities[0].Ref != e.Ref {
					t.Errorf("%s: filter %s=%q: %d entities", step, key, val, len(page.Entities))
				}
			}
		}
		facets := must(s.Facets(ctx, store.Filter{{{Key: "metadata.name", Values: []string{name}}}}, keys))
		for i, v := range storedStrings {
			for key, want := range map[string]string{fmt.Sprintf("k%d", i): v, fmt.Sprintf("upper%d", i): "X" + v} {
				got := facets["metadata.annotations."+key]
				if !slices.Equal(got, []store.FacetCount{{Value: want, Count: 1}}) {
					t.Errorf("%s: facet %s: %+v, want %q", step, key, got, want)
				}
			}
		}
	}
	// A first load: at least the batch size from which indexes are built
	// after the rows (firstLoadMin), so each write path is taken.
	var batch []store.Entity
	for i := range 1000 {
		batch = append(batch, ent("Component", fmt.Sprintf("filler-%04d", i), map[string]string{"type": "service"}))
	}
	first := odd("odd-first")
	batch = append(batch, first)
	loc := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/odd.yaml"}))
	must(s.ReplaceLocation(ctx, loc.ID, batch, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	check("first load", first)
	small := must(s.AddLocation(ctx, store.Location{Type: "file", Target: "/odd-small.yaml"}))
	update := odd("odd-small")
	must(s.ReplaceLocation(ctx, small.ID, []store.Entity{update}, store.ReplaceOptions{Orphans: store.OrphanDelete}))
	check("small write", update)
}
