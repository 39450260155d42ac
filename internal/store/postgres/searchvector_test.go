package postgres

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
)

// corpusDir is the shared corpus of real catalog files and docs sites,
// beside the repository.
const corpusDir = "../../../../shared/corpus"

// toTSVector is how PostgreSQL generated search_docs.tsv before the store
// built it (migrations: searchIndexPostgres, then searchVectorPostgres).
const toTSVector = `setweight(to_tsvector('simple'::regconfig, translate(d.label, '.:/@_', '     ')), 'A') ||
    setweight(to_tsvector('simple'::regconfig, translate(d.title, '.:/@_', '     ')), 'B') ||
    setweight(to_tsvector('simple'::regconfig, translate(d.meta, '.:/@_', '     ')), 'C') ||
    setweight(to_tsvector('simple'::regconfig, translate(d.text, '.:/@_', '     ')), 'D')`

// corpus reads the corpus: every valid entity of its catalog files (each
// ref once) and every Markdown page, as docs pages.
func corpus(t *testing.T) ([]store.Entity, []store.DocsSearchDoc) {
	t.Helper()
	var ents []store.Entity
	var pages []store.DocsSearchDoc
	seen := map[string]bool{}
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, path)
		switch filepath.Ext(path) {
		case ".md":
			title, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
			pages = append(pages, store.DocsSearchDoc{Location: rel, Title: title, Text: string(data)})
		case ".yaml", ".yml":
			docs, err := catalog.Parse(rel, data, catalog.DefaultLimits())
			if err != nil {
				return nil // not a catalog file
			}
			for _, doc := range docs {
				if len(doc.Errors) > 0 || doc.Entity == nil {
					continue
				}
				row, err := catalog.Row(doc.Entity)
				if err != nil || seen[row.Ref] {
					continue
				}
				seen[row.Ref] = true
				ents = append(ents, row)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 100 || len(pages) < 30 {
		t.Fatalf("corpus: %d entities and %d pages; is %s there?", len(ents), len(pages), corpusDir)
	}
	return ents, pages
}

// lexeme is one word of a stored tsvector: its weights (sorted, unique)
// and how many positions it has.
type lexeme struct {
	weights   string
	positions int
}

// vectors reads each search_docs row's vector as vector (an expression
// over search_docs d) has it, by doc_id and word.
func vectors(t *testing.T, db *sql.DB, vector string) map[int64]map[string]lexeme {
	t.Helper()
	rows, err := db.Query(`SELECT d.doc_id, u.lexeme, array_to_string(u.weights, ''), cardinality(u.positions)
		FROM search_docs d, unnest(` + vector + `) u`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]map[string]lexeme{}
	for rows.Next() {
		var id int64
		var word, weights string
		var n int
		if err := rows.Scan(&id, &word, &weights, &n); err != nil {
			t.Fatal(err)
		}
		w := strings.Split(strings.ToUpper(weights), "")
		sort.Strings(w)
		if out[id] == nil {
			out[id] = map[string]lexeme{}
		}
		out[id][word] = lexeme{weights: strings.Join(slices.Compact(w), ""), positions: n}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// leadingWord is the run of letters, digits and marks a lexeme starts
// with: what a search word matching it as a prefix is made of.
var leadingWord = regexp.MustCompile(`^[\pL\pN\pM]+`)

// TestSearchVectorMatchesToTSVector: for the corpus's catalog entities
// and docs pages, the vector the store builds finds everything the one
// to_tsvector generated did. Every word to_tsvector indexed that a search
// can reach (a lower-case word, or a compound such as "foo-bar" or "-1"
// reached by the word it starts with) still matches, as a prefix in
// PostgreSQL's own @@ and, for a plain word, exactly (typo candidates
// match so), with the same weights and, in an entity's row, as many
// positions (what ts_rank reads); a docs page's Markdown may split
// otherwise (counted and logged). It also logs what the store indexes that to_tsvector did not
// (the parts of compounds, XML-looking tags).
func TestSearchVectorMatchesToTSVector(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	s := openStore(t, dsn)
	ents, pages := corpus(t)
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/corpus.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceLocation(ctx, loc.ID, ents, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceDocsIndex(ctx, ents[0].Ref, pages); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dsn)
	old, built := vectors(t, db, toTSVector), vectors(t, db, "d.tsv")
	if len(old) < len(ents) {
		t.Fatalf("%d rows indexed for %d entities and %d pages", len(old), len(ents), len(pages))
	}

	catalogRows := map[int64]bool{}
	rows, err := db.Query(`SELECT doc_id FROM search_docs WHERE type = $1`, store.SearchTypeCatalog)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		catalogRows[id] = true
	}
	if err := rows.Err(); err != nil || len(catalogRows) != len(ents) {
		t.Fatalf("%d catalog rows for %d entities: %v", len(catalogRows), len(ents), err)
	}
	rows.Close()

	var exact, compound, unreachable, extra, recounted int
	var ids []int64
	var prefixes []string
	for id, words := range old {
		for w, l := range words {
			lead := leadingWord.FindString(w)
			if lead == "" || strings.ToLower(lead) != lead {
				unreachable++ // no search term's words reach it
				continue
			}
			ids, prefixes = append(ids, id), append(prefixes, lead)
			if lead != w {
				compound++
				continue
			}
			exact++
			got, ok := built[id][w]
			switch {
			case ok && got == l:
			case catalogRows[id] && !ok:
				t.Errorf("row %d: %q is not indexed", id, w)
			case catalogRows[id] || ok && got.weights != l.weights:
				t.Errorf("row %d: %q has weights %s at %d positions, to_tsvector's %s at %d", id, w, got.weights, got.positions, l.weights, l.positions)
			default:
				// Docs text (Markdown here) holds what PostgreSQL's
				// parser takes apart otherwise: tags it drops, compounds
				// it indexes whole and in parts, "022e1f" it reads as
				// the number 022e1 and f (the prefix check below still
				// finds 022e1).
				recounted++
			}
		}
		for w := range built[id] {
			if _, ok := words[w]; !ok {
				extra++
			}
		}
	}
	// Every prefix that found a row still does, by PostgreSQL's own match.
	rows, err = db.Query(`SELECT q.id, q.w FROM unnest($1::bigint[], $2::text[]) AS q(id, w)
		JOIN search_docs d ON d.doc_id = q.id
		WHERE NOT d.tsv @@ to_tsquery('simple', '''' || q.w || ''':*')`, ids, prefixes)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var w string
		if err := rows.Scan(&id, &w); err != nil {
			t.Fatal(err)
		}
		t.Errorf("row %d: the prefix %q no longer matches", id, w)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if exact < 5000 || compound < 100 {
		t.Errorf("too little compared: %d plain words, %d compounds", exact, compound)
	}
	t.Logf("%d rows: %d plain words with the same weights (%d of them, in docs, split otherwise or at a different number of positions), %d compounds found by their first word, %d unreachable by any term; %d words indexed that to_tsvector did not",
		len(old), exact, recounted, compound, unreachable, extra)

	// The fields the catalog hands with an entity index it as its body
	// does: the same corpus written without them gives the same rows.
	handed := 0
	bare := make([]store.Entity, len(ents))
	for i, e := range ents {
		if e.Indexed != nil {
			handed++
		}
		bare[i] = e
		bare[i].Indexed = nil
	}
	if handed < len(ents)*9/10 {
		t.Errorf("only %d of %d entities came with their indexed fields", handed, len(ents))
	}
	bareDSN := freshDB(t)
	bareStore := openStore(t, bareDSN)
	bareLoc, err := bareStore.AddLocation(ctx, store.Location{Type: "file", Target: "/corpus.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bareStore.ReplaceLocation(ctx, bareLoc.ID, bare, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	bareDB, err := sql.Open("pgx", bareDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer bareDB.Close()
	if got, want := catalogIndex(t, db), catalogIndex(t, bareDB); !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("from the handed fields:\n%s\nfrom the body:\n%s", got[i], want[i])
				break
			}
		}
		t.Errorf("%d catalog rows from the handed fields, %d from the bodies", len(got), len(want))
	}

	// And through Search: a word of each entity's name finds it.
	for _, e := range ents[:50] {
		_, name, _ := strings.Cut(e.Ref, "/")
		term := leadingWord.FindString(name)
		if term == "" {
			continue
		}
		found := false
		for off := 0; off <= 300 && !found; off += 100 {
			page, err := s.Search(ctx, store.SearchQuery{Term: term, Types: []string{store.SearchTypeCatalog}, Limit: 100, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Results {
				found = found || strings.EqualFold(r.EntityRef, e.Ref)
			}
			if !page.HasMore {
				break
			}
		}
		if !found {
			t.Errorf("search %q does not find %s", term, e.Ref)
		}
	}
}

// catalogIndex is every entity's search row, in ref order.
func catalogIndex(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT concat_ws(' | ', kind, namespace, name, kind_text, label, title, text, meta, tsv::text)
		FROM search_docs WHERE type = 'software-catalog' ORDER BY kind, namespace, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSearchVectorHostileText: text holding tsvector and tsquery syntax
// (quotes, backslashes, colons and weights, operators), a NUL, bytes that
// are not UTF-8 and words too long to index goes into the vector as its
// words only, on both write paths (an entity's COPY, a docs page's
// INSERT), and searching for it finds it without error.
func TestSearchVectorHostileText(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	s := openStore(t, dsn)
	long46, long47 := strings.Repeat("l", 2046), strings.Repeat("m", 2047)
	hostile := `it's "quoted" \ back\slash a:1A 'pwned':1A & | ! <-> :* (x) ''' \' ` + long46 + " " + long47 + " tail\x00nul \xff\xfe bad"
	var ents []store.Entity
	for _, e := range []catalog.Entity{
		{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": map[string]any{
			"name": "hostile", "title": `O'Brien's \ "title"`, "description": hostile, "tags": []any{"c++", "a:b", "x'y"}},
			"spec": map[string]any{"type": "service", "owner": "team-a", "lifecycle": "production"}},
		// Not strings: indexed from the body, as text.
		{"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": map[string]any{
			"name": "numbers", "title": 42.5, "tags": []any{1, true}},
			"spec": map[string]any{"type": "service", "owner": "team-a", "lifecycle": "production"}},
	} {
		row, err := catalog.Row(e)
		if err != nil {
			t.Fatal(err)
		}
		ents = append(ents, row)
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/hostile.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceLocation(ctx, loc.ID, ents, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceDocsIndex(ctx, "component:default/hostile", []store.DocsSearchDoc{{Location: "x/", Title: "Page 'one': a&b", Text: hostile}}); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, dsn)
	for _, c := range []struct {
		name, typ string
		want      []string
	}{
		{"hostile", store.SearchTypeCatalog, []string{"1a:22,24", "a:9C,12C,21", "b:13C", "back:19", "bad:28", "brien:3B", "c:11C", "component:6C",
			"hostile:1A", "it:16", long46 + ":26", "o:2B", "production:10C", "pwned:23", "quoted:18", "s:4B,17", "service:7C", "slash:20",
			"tailnul:27", "team:8C", "title:5B", "x:14C,25", "y:15C"}},
		{"hostile", store.SearchTypeDocs, []string{"1a:11,13", "a:3B,10", "b:4B", "back:8", "bad:17", "it:5", long46 + ":15", "one:2B",
			"page:1B", "pwned:12", "quoted:7", "s:6", "slash:9", "tailnul:16", "x:14"}},
		{"numbers", store.SearchTypeCatalog, []string{"1:9C", "42:2B", "5:3B", "a:7C", "component:4C", "numbers:1A", "production:8C",
			"service:5C", "team:6C", "true:10C"}},
	} {
		rows, err := db.Query(`SELECT u.lexeme, array_to_string(u.positions, ','), array_to_string(u.weights, ',') FROM search_docs d, unnest(d.tsv) u
			WHERE d.name = $1 AND d.type = $2`, c.name, c.typ)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var word, pos, weights string
			if err := rows.Scan(&word, &pos, &weights); err != nil {
				t.Fatal(err)
			}
			ps, ws := strings.Split(pos, ","), strings.Split(weights, ",")
			for i, w := range ws {
				if w != "D" {
					ps[i] += w
				}
			}
			got = append(got, word+":"+strings.Join(ps, ","))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %s:\n got %.300q\nwant %.300q", c.typ, c.name, got, c.want)
		}
	}
	// Terms holding query syntax are words too: no error, and a word of
	// the hostile text finds the entity and its page.
	for _, term := range []string{`'pwned':1A`, `a & b | !c`, `\`, `:*`, `'`, `o'brien`, "x'y", "tailnul", "1a"} {
		if _, err := s.Search(ctx, store.SearchQuery{Term: term, Limit: 10}); err != nil {
			t.Fatalf("search %q: %v", term, err)
		}
	}
	for _, term := range []string{"pwned", "tailnul", `'pwned':1A`, "brie"} {
		page, err := s.Search(ctx, store.SearchQuery{Term: term, Limit: 10})
		if err != nil || page.Total != 2 && term != "brie" || page.Total != 1 && term == "brie" {
			t.Errorf("search %q: %d results, %v", term, page.Total, err)
		}
	}
}

// TestSearchVectorReindex: a database indexed before the store built its
// vectors (to_tsvector's, which read "022e1f" as the number 022e1 and
// the word f) is indexed again when the store opens after the migration,
// its docs pages too, and a term's word then finds what holds it.
// storePaint stores component paint (with description) and its docs page
// "Shades" holding text.
func storePaint(t *testing.T, s store.Store, description, text string) {
	t.Helper()
	ctx := context.Background()
	row, err := catalog.Row(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
		"metadata": map[string]any{"name": "paint", "description": description},
		"spec":     map[string]any{"type": "service", "owner": "team-a", "lifecycle": "production"}})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/paint.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReplaceLocation(ctx, loc.ID, []store.Entity{row}, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceDocsIndex(ctx, row.Ref, []store.DocsSearchDoc{{Location: "", Title: "Shades", Text: text}}); err != nil {
		t.Fatal(err)
	}
}

func TestSearchVectorReindex(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	s := openStore(t, dsn)
	storePaint(t, s, "Colour 022e1f, a green.", "The 022e1f shade.")
	found := func(s store.Store) int {
		t.Helper()
		page, err := s.Search(ctx, store.SearchQuery{Term: "022e1f", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	if n := found(s); n != 2 {
		t.Fatalf("022e1f: %d results, want the entity and its page", n)
	}
	// As the database was before the migration.
	db := rawDB(t, dsn)
	if _, err := db.Exec(`UPDATE search_docs d SET tsv = ` + toTSVector + `;
		INSERT INTO search_state (key, value) VALUES ('needs_reindex', '1')`); err != nil {
		t.Fatal(err)
	}
	if n := found(s); n != 0 {
		t.Fatalf("022e1f in to_tsvector's vectors: %d results (the test needs them to differ)", n)
	}
	if n := found(openStore(t, dsn)); n != 2 {
		t.Errorf("022e1f after the store opened again: %d results, want 2", n)
	}
}

// TestSearchVectorOlderWriter: a replica of the release before (still
// running during a rolling upgrade) inserts search rows without tsv. They
// must be searchable at once, and the next store to open rebuilds them
// with rigger's words.
func TestSearchVectorOlderWriter(t *testing.T) {
	ctx := context.Background()
	dsn := freshDB(t)
	s := openStore(t, dsn)
	storePaint(t, s, "", "Green.")
	db := rawDB(t, dsn)
	// The older release's insert: every column but tsv, which it had
	// PostgreSQL generate.
	if _, err := db.Exec(`INSERT INTO search_docs (id, type, path, kind, namespace, name, kind_text, label, title, text, meta)
		SELECT id, type, 'older/', kind, namespace, name, kind_text, label, 'Older page', 'Ochre 022e1f, from an older replica.', meta
		FROM search_docs WHERE type = $1`, store.SearchTypeDocs); err != nil {
		t.Fatal(err)
	}
	found := func(s store.Store, term string) int {
		t.Helper()
		page, err := s.Search(ctx, store.SearchQuery{Term: term, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	if n := found(s, "ochre"); n != 1 {
		t.Fatalf("ochre in a row an older replica wrote: %d results, want 1 (the row has no vector)", n)
	}
	var marks int
	if err := db.QueryRow(`SELECT COUNT(*) FROM search_state WHERE key = 'needs_reindex'`).Scan(&marks); err != nil || marks != 1 {
		t.Fatalf("needs_reindex after an older replica's insert: %d rows (%v), want 1", marks, err)
	}
	// to_tsvector split 022e1f; the reindex on the next open builds the
	// row's vector with rigger's words.
	if n := found(s, "022e1f"); n != 0 {
		t.Fatalf("022e1f before the reindex: %d results (the test needs to_tsvector's vector to differ)", n)
	}
	if n := found(openStore(t, dsn), "022e1f"); n != 1 {
		t.Errorf("022e1f after the store opened again: %d results, want 1", n)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM search_state WHERE key = 'needs_reindex'`).Scan(&marks); err != nil || marks != 0 {
		t.Errorf("needs_reindex after the reindex: %d rows (%v), want none", marks, err)
	}
}
