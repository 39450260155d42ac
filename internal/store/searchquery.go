package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/riggerdev/rigger/internal/errs"
)

// SearchQuery is one search of the index.
type SearchQuery struct {
	// Term is what the user typed: every word must match, each as a
	// prefix, a word of 5 or more letters also with one edit (a typo).
	// Empty: every document the filters admit.
	Term string
	// Types are the document types wanted (SearchTypeCatalog,
	// SearchTypeDocs); none: both.
	Types []string
	// Kinds are the entity kinds wanted (any case); none: all.
	Kinds []string
	// Filters are more conditions on the entity (keys as in Filter, e.g.
	// spec.lifecycle, spec.owner, metadata.tags).
	Filters []Cond
	// Access limits entity results, DocsAccess docs results, to what the
	// caller may read (nil: everything). Applied in the query, before
	// paging, counting and faceting.
	Access, DocsAccess *Expr
	// Limit (1..MaxSearchLimit) results from Offset (at most
	// MaxSearchOffset).
	Limit, Offset int
	// PreTag and PostTag mark the matches in highlights (letters, digits,
	// '<', '>', '/', '-', '_' only; empty: no highlights).
	PreTag, PostTag string
}

// Bounds of a search.
const (
	MaxSearchTermRunes = 200
	MaxSearchWords     = 12
	MaxSearchLimit     = 100
	MaxSearchOffset    = 10000
	// maxTypoCandidates bounds the near words one query word expands to
	// (those found in a document the caller may read); maxTypoLookup
	// bounds the vocabulary words examined for one query word.
	maxTypoCandidates = 16
	maxTypoLookup     = 1024
	// MaxSearchCount bounds what a search counts: numberOfResults and
	// facets are exact up to it; past it they count its first
	// MaxSearchCount+1 readable matches (SearchPage.Capped), as
	// Elasticsearch counts 10,000 hits by default.
	MaxSearchCount = 1000
	// searchTextRunes bounds a result's text (a docs page can be long).
	searchTextRunes = 500
)

// SearchPage is one page of results.
type SearchPage struct {
	Results []SearchResult
	// Total counts every readable match (with Types and Kinds applied).
	Total   int
	HasMore bool
	// TypeFacets count readable matches by type (Kinds applied, not
	// Types); KindFacets by entity kind as written (Types applied, not
	// Kinds). Most first.
	TypeFacets, KindFacets []FacetCount
	// Capped: more than MaxSearchCount documents match (before the type
	// and kind filters): Total and the facets count only the first
	// MaxSearchCount+1 of them. Results are still by rank on
	// PostgreSQL; on SQLite, past the name matches, those matching in a
	// name or title come first, then the others (searchRestTiered).
	Capped bool
}

// SearchResult is one matching entity or docs page.
type SearchResult struct {
	Type string
	// The entity (for docs: whose docs): ref as stored, kind, namespace
	// and name as written, and fields of its body.
	EntityRef                  string
	Kind, Namespace, Name      string
	EntityTitle                string
	SpecType, Lifecycle, Owner string
	// Title and Text are the document's (a page's title and text, or the
	// entity's title and description); Text is cut to 500 runes.
	Title, Text string
	// Path is a docs page's location in its site ("" for entities).
	Path string
	// HighlightTitle and HighlightText mark the matches with PreTag and
	// PostTag (a snippet of the text).
	HighlightTitle, HighlightText string
	// Rank is the result's position, 1 for the first of the first page.
	Rank int
}

var highlightTag = regexp.MustCompile(`^[A-Za-z0-9<>/_-]{1,64}$`)

// searchPlan is a validated query: its words, their typo candidates and
// the engine's match expression.
type searchPlan struct {
	q     SearchQuery
	words []string
	match string // "" without words
	name  string // the term as a name, for exact and prefix ranking
	types []string
	kinds []string
	typos map[string][]string
}

// Search implements Store: matches readable by the caller, the entity
// named by the term first, then names starting with it (by name), then
// by full-text rank; with the total and facets of what the caller may
// read (see searchpage.go).
func (s *SQL) Search(ctx context.Context, q SearchQuery) (SearchPage, error) {
	if s.d.FullText == "" {
		return SearchPage{}, fmt.Errorf("%w: search: this database schema has no search index", errs.ErrUnavailable)
	}
	p, err := s.plan(ctx, q)
	if err != nil {
		return SearchPage{}, err
	}
	var page SearchPage
	ids, err := s.searchIDs(ctx, p, &page)
	if err == nil {
		page.Results, err = s.searchDetails(ctx, p, ids)
	}
	if err != nil {
		return SearchPage{}, fmt.Errorf("search: %w", err)
	}
	if len(page.Results) > q.Limit {
		page.Results, page.HasMore = page.Results[:q.Limit], true
	}
	if page.Capped {
		// The counts took the first matches of any type and kind: the
		// total is a lower bound, and no lower than the pages show.
		shown := q.Offset + len(page.Results)
		if page.HasMore {
			shown++
		}
		page.Total = max(page.Total, shown)
	}
	for i := range page.Results {
		page.Results[i].Rank = q.Offset + i + 1
	}
	return page, nil
}

func (s *SQL) plan(ctx context.Context, q SearchQuery) (*searchPlan, error) {
	if n := utf8.RuneCountInString(q.Term); n > MaxSearchTermRunes {
		return nil, errs.Invalid("the search term has %d characters; at most %d are accepted", n, MaxSearchTermRunes)
	}
	if q.Limit < 1 || q.Limit > MaxSearchLimit {
		return nil, errs.Invalid("the page size must be between 1 and %d", MaxSearchLimit)
	}
	if q.Offset < 0 || q.Offset > MaxSearchOffset {
		return nil, errs.Invalid("a search pages through at most %d results", MaxSearchOffset)
	}
	if (q.PreTag != "" || q.PostTag != "") && (!highlightTag.MatchString(q.PreTag) || !highlightTag.MatchString(q.PostTag)) {
		return nil, errs.Invalid("highlight tags must be 1 to 64 letters, digits or <>/_-")
	}
	// No NUL or invalid UTF-8 reaches the database (PostgreSQL refuses them).
	q.Term = clipText(q.Term, len(q.Term))
	p := &searchPlan{q: q, name: strings.ToLower(strings.TrimSpace(q.Term))}
	for _, w := range searchWords(q.Term) {
		if !slices.Contains(p.words, w) {
			p.words = append(p.words, w)
		}
	}
	if len(p.words) > MaxSearchWords {
		return nil, errs.Invalid("the search term has %d words; at most %d are accepted", len(p.words), MaxSearchWords)
	}
	for _, t := range q.Types {
		if t != SearchTypeCatalog && t != SearchTypeDocs {
			return nil, errs.Invalid("unknown search type %q (want %s or %s)", t, SearchTypeCatalog, SearchTypeDocs)
		}
		if !slices.Contains(p.types, t) {
			p.types = append(p.types, t)
		}
	}
	for _, k := range q.Kinds {
		p.kinds = append(p.kinds, strings.ToLower(k))
	}
	var err error
	if p.typos, err = s.typoCandidates(ctx, p.words); err != nil {
		return nil, err
	}
	if err := s.readableTypos(ctx, p); err != nil {
		return nil, fmt.Errorf("typo candidates: %w", err)
	}
	p.match = matchExpr(s.d.FullText, p.words, p.typos)
	return p, nil
}

// matchExpr is the engine's query for words, each a prefix or one of its
// typo candidates: an FTS5 expression of quoted strings, or a tsquery of
// quoted lexemes. Words hold only letters, digits and marks, and are
// quoted anyway: nothing in a term is ever query syntax.
func matchExpr(engine string, words []string, typos map[string][]string) string {
	parts := make([]string, 0, len(words))
	for _, w := range words {
		var alts []string
		if engine == FullTextPostgres {
			quote := func(x string) string { return "'" + strings.ReplaceAll(x, "'", "''") + "'" }
			alts = append(alts, quote(w)+":*")
			for _, c := range typos[w] {
				alts = append(alts, quote(c))
			}
			parts = append(parts, "("+strings.Join(alts, " | ")+")")
			continue
		}
		quote := func(x string) string { return `"` + strings.ReplaceAll(x, `"`, `""`) + `"` }
		alts = append(alts, quote(w)+"*")
		for _, c := range typos[w] {
			alts = append(alts, quote(c))
		}
		parts = append(parts, "("+strings.Join(alts, " OR ")+")")
	}
	if engine == FullTextPostgres {
		return strings.Join(parts, " & ")
	}
	return strings.Join(parts, " AND ")
}

// typoCandidates finds, for each word of 5 or more runes, the vocabulary
// words one edit away (readableTypos then keeps those the caller may
// see): on SQLite by the word's deletion variants (an
// index lookup of search_vocab), on PostgreSQL by trigram similarity
// (search_vocab's pg_trgm index), both checked here for one edit.
func (s *SQL) typoCandidates(ctx context.Context, words []string) (map[string][]string, error) {
	var long []string
	for _, w := range words {
		if utf8.RuneCountInString(w) >= typoMinRunes && utf8.RuneCountInString(w) <= vocabMaxRunes+1 {
			long = append(long, w)
		}
	}
	out := map[string][]string{}
	if len(long) == 0 {
		return out, nil
	}
	found := map[string]bool{}
	if s.d.FullText == FullTextPostgres {
		if err := s.trigramCandidates(ctx, long, found); err != nil {
			return nil, err
		}
	} else {
		var variants []string
		for _, w := range long {
			variants = append(variants, deletions(w)...)
		}
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT word FROM search_vocab WHERE variant IN (`+placeholders(len(variants))+`)`), anys(variants)...)
		if err != nil {
			return nil, fmt.Errorf("typo candidates: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var w string
			if err := rows.Scan(&w); err != nil {
				return nil, err
			}
			found[w] = true
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	cands := make([]string, 0, len(found))
	for w := range found {
		cands = append(cands, w)
	}
	slices.Sort(cands)
	for _, w := range long {
		for _, c := range cands {
			if c != w && oneEdit(w, c) && len(out[w]) < maxTypoLookup {
				out[w] = append(out[w], c)
			}
		}
	}
	return out, nil
}

// trigramThreshold admits every word one edit from a word of 5 runes: a
// swap of two inner letters leaves 2 of 10 trigrams shared (0.2).
const trigramThreshold = "0.19"

func (s *SQL) trigramCandidates(ctx context.Context, words []string, found map[string]bool) error {
	q := s.builder()
	for i, w := range words {
		if i > 0 {
			q.add(" UNION ")
		}
		n := utf8.RuneCountInString(w)
		q.add("SELECT word FROM search_vocab WHERE word % ? AND length(word) BETWEEN ? AND ?", w, n-1, n+1)
	}
	// The threshold is a setting, of SearchDB's sessions or else of a
	// transaction.
	var rows *sql.Rows
	var err error
	if s.d.SearchDB != nil {
		rows, err = s.d.SearchDB.QueryContext(ctx, s.q(q.b.String()), q.args...)
	} else {
		var tx *sql.Tx
		if tx, err = s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
			return fmt.Errorf("typo candidates: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // read-only
		if _, err := tx.ExecContext(ctx, searchSettings+`; SET LOCAL pg_trgm.similarity_threshold = `+trigramThreshold); err != nil {
			return fmt.Errorf("typo candidates: %w", err)
		}
		rows, err = tx.QueryContext(ctx, s.q(q.b.String()), q.args...)
	}
	if err != nil {
		return fmt.Errorf("typo candidates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w string
		if err := rows.Scan(&w); err != nil {
			return err
		}
		found[w] = true
	}
	return rows.Err()
}

// searchDetails reads the documents ids with their entities, in the
// order of ids, and marks their highlights.
func (s *SQL) searchDetails(ctx context.Context, p *searchPlan, ids []int64) ([]SearchResult, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT d.doc_id, d.type, d.path, d.kind_text, d.title, d.text, e.ref, e.body
		FROM search_docs d JOIN entities e ON e.id = d.id WHERE d.doc_id IN (`+placeholders(len(ids))+`)`), anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := &marker{words: p.words, typos: p.typos, pre: p.q.PreTag, post: p.q.PostTag}
	byID := map[int64]SearchResult{}
	for rows.Next() {
		var id int64
		var r SearchResult
		var body string
		if err := rows.Scan(&id, &r.Type, &r.Path, &r.Kind, &r.Title, &r.Text, &r.EntityRef, &body); err != nil {
			return nil, err
		}
		ie := parseIndexed([]byte(body), "")
		r.Namespace, r.Name, r.EntityTitle = ie.Metadata.Namespace, ie.Metadata.Name, ie.title()
		if r.Namespace == "" {
			r.Namespace = "default"
		}
		if r.Kind == "" {
			r.Kind = ie.Kind
		}
		r.SpecType, r.Lifecycle, r.Owner = scalar(ie.Spec.Type), scalar(ie.Spec.Lifecycle), scalar(ie.Spec.Owner)
		if m.pre != "" && len(m.words) > 0 {
			r.HighlightTitle, r.HighlightText = m.title(r.Title), m.snippet(r.Text)
		}
		r.Text = clipRunes(r.Text, searchTextRunes)
		byID[id] = r
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]SearchResult, 0, len(ids))
	for _, id := range ids {
		// A document deleted between the two queries is left out.
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// clipRunes cuts s to n runes, marking the cut.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// facetCounter counts readable matches into a page's total and facets:
// the type facet applies the kind filter, the kind facet the type filter,
// the total both.
type facetCounter struct {
	p              *searchPlan
	total          int
	byType, byKind map[string]int
	kindName       map[string]string
}

func newFacetCounter(p *searchPlan) *facetCounter {
	return &facetCounter{p: p, byType: map[string]int{}, byKind: map[string]int{}, kindName: map[string]string{}}
}

// add counts n matches of a type and kind (as written), and says whether
// they pass both filters.
func (f *facetCounter) add(typ, kind string, n int) bool {
	lower := strings.ToLower(kind)
	typeOK := len(f.p.types) == 0 || slices.Contains(f.p.types, typ)
	kindOK := len(f.p.kinds) == 0 || slices.Contains(f.p.kinds, lower)
	if kindOK {
		f.byType[typ] += n
	}
	if typeOK {
		if k, ok := f.kindName[lower]; !ok || kind < k {
			f.kindName[lower] = kind
		}
		f.byKind[lower] += n
	}
	if typeOK && kindOK {
		f.total += n
		return true
	}
	return false
}

func (f *facetCounter) finish(page *SearchPage) {
	page.Total = f.total
	page.TypeFacets = facetList(f.byType, nil)
	page.KindFacets = facetList(f.byKind, f.kindName)
}

// facetList sorts counts most first, then by value; names maps a key to
// the value shown (nil: the key).
func facetList(counts map[string]int, names map[string]string) []FacetCount {
	out := make([]FacetCount, 0, len(counts))
	for k, n := range counts {
		v := k
		if names != nil {
			v = names[k]
		}
		out = append(out, FacetCount{Value: v, Count: n})
	}
	slices.SortFunc(out, func(a, b FacetCount) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	})
	return out
}
