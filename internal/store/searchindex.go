package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/riggerdev/rigger/internal/errs"
)

// The search index (schema: searchIndexSQLite, searchIndexPostgres) holds
// one search_docs row per entity and per docs page or section, written in
// the transaction that writes the entity or the docs build: whatever is
// readable is searchable, with no collator running later. Rows name their
// entity by id, so a search joins the entity and applies the caller's
// access to it in SQL, and deleting the entity deletes its rows.

// Search document types, as Backstage names them.
const (
	SearchTypeCatalog = "software-catalog"
	SearchTypeDocs    = "techdocs"
)

// DocsSearchDoc is one searchable part of an entity's docs site: a page,
// or a section of one under a heading.
type DocsSearchDoc struct {
	// Location is the page's path in the site, with the heading's anchor
	// for a section: "guide/" or "guide/#install".
	Location string
	Title    string
	Text     string
}

// Bounds of what one search_docs row holds: longer text is cut (an index
// of a page's first 64 KiB finds the page; PostgreSQL caps a tsvector at
// 1 MiB).
const (
	maxIndexedText  = 64 << 10
	maxIndexedTitle = 1 << 10
)

// indexedEntity is what the index reads of an entity's body. Values are
// `any`: a body is validated but a field may still hold a number or a
// list where a string is usual; the index takes scalars as text.
type indexedEntity struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string `json:"name"`
		Namespace   string `json:"namespace"`
		Title       any    `json:"title"`
		Description any    `json:"description"`
		Tags        []any  `json:"tags"`
	} `json:"metadata"`
	Spec struct {
		Type      any `json:"type"`
		Owner     any `json:"owner"`
		Lifecycle any `json:"lifecycle"`
		System    any `json:"system"`
	} `json:"spec"`
}

// IndexedFields are the fields of an entity's body the search index
// reads, as text: a writer that has the entity decoded hands them with it
// (Entity.Indexed) so the index does not decode the body again. Only
// string values (or none) are handed so; an entity with another value in
// one of these fields goes without, and the index reads its body.
type IndexedFields struct {
	Kind, Name, Title, Description string
	Type, Owner, Lifecycle, System string
	Tags                           []string
}

// fields are ie's indexed fields as text.
func (ie *indexedEntity) fields() *IndexedFields {
	f := &IndexedFields{Kind: ie.Kind, Name: ie.Metadata.Name, Title: scalar(ie.Metadata.Title), Description: scalar(ie.Metadata.Description),
		Type: scalar(ie.Spec.Type), Owner: scalar(ie.Spec.Owner), Lifecycle: scalar(ie.Spec.Lifecycle), System: scalar(ie.Spec.System)}
	for _, t := range ie.Metadata.Tags {
		f.Tags = append(f.Tags, scalar(t))
	}
	return f
}

// meta is the text of the entity's kind, type, owner, lifecycle, system
// and tags, one field after another.
func (f *IndexedFields) meta() string {
	var b strings.Builder
	n := len(f.Kind) + len(f.Type) + len(f.Owner) + len(f.Lifecycle) + len(f.System) + 5
	for _, t := range f.Tags {
		n += len(t) + 1
	}
	b.Grow(n)
	add := func(part string) {
		if part != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(part)
		}
	}
	for _, part := range [...]string{f.Kind, f.Type, f.Owner, f.Lifecycle, f.System} {
		add(part)
	}
	for _, t := range f.Tags {
		add(t)
	}
	return b.String()
}

// scalar is a JSON scalar as text ("" for null, objects and lists).
func scalar(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64, bool, json.Number:
		return fmt.Sprint(t)
	}
	return ""
}

// parseIndexed reads the indexed fields of a body; a body that does not
// parse indexes as its name alone (never an error: the entity was
// validated, and indexing must not fail its write).
func parseIndexed(body []byte, name string) indexedEntity {
	var ie indexedEntity
	if err := json.Unmarshal(body, &ie); err != nil || ie.Metadata.Name == "" {
		ie = indexedEntity{}
		ie.Metadata.Name = name
	}
	return ie
}

// title is metadata.title, or the name.
func (ie *indexedEntity) title() string {
	if t := scalar(ie.Metadata.Title); t != "" {
		return t
	}
	return ie.Metadata.Name
}

// searchRow is one search_docs row (doc_id assigned on insert): its
// entity's id and lower-cased kind, namespace and name (as in entities),
// the kind and name as written, and the indexed text.
type searchRow struct {
	entityID              int64
	typ, path             string
	kind, namespace, name string
	kindText, label       string
	title, txt, meta      string
}

var searchDocsColumns = []string{"id", "type", "path", "kind", "namespace", "name", "kind_text", "label", "title", "text", "meta"}

// searchColumns are the search_docs columns a write fills (after doc_id,
// on SQLite): on PostgreSQL also tsv, which the store builds
// (searchVector).
func (s *SQL) searchColumns() []string {
	if s.d.FullText == FullTextPostgres {
		return append(slices.Clip(searchDocsColumns), "tsv")
	}
	return searchDocsColumns
}

// searchValues are r's values of searchColumns; vocab, if not nil, gets
// the vocabulary words of r's label, title and meta.
func (s *SQL) searchValues(r searchRow, vocab map[string]bool) []any {
	if vocab != nil {
		addVocab(vocab, r.label, r.title, r.meta)
	}
	vals := make([]any, 0, len(searchDocsColumns)+1)
	vals = append(vals, r.entityID, r.typ, r.path, r.kind, r.namespace, r.name, r.kindText, r.label, r.title, r.txt, r.meta)
	if s.d.FullText == FullTextPostgres {
		vals = append(vals, searchFields{r.label, r.title, r.meta, r.txt})
	}
	return vals
}

// entitySearchRow is the catalog document of the entity stored as id,
// from its fields if set, else from its body.
func entitySearchRow(id int64, ref string, body []byte, fields *IndexedFields) searchRow {
	kind, ns, name := splitRef(ref)
	f := fields
	if f == nil || f.Name == "" {
		ie := parseIndexed(body, name)
		f = ie.fields()
	}
	kindText := f.Kind
	if !strings.EqualFold(kindText, kind) {
		kindText = kind
	}
	title := f.Title
	if title == "" {
		title = f.Name
	}
	return searchRow{entityID: id, typ: SearchTypeCatalog, kind: kind, namespace: ns, name: name, kindText: kindText, label: f.Name,
		title: clipText(title, maxIndexedTitle), txt: clipText(f.Description, maxIndexedText), meta: f.meta()}
}

// clipText cuts s to at most n bytes on a rune boundary, and drops NUL
// bytes (PostgreSQL text refuses them).
func clipText(s string, n int) string {
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	return s
}

// ---- words and typo candidates

// searchWords splits text into lower-cased words: runs of letters, digits
// and marks, as SQLite's unicode61 tokenizer does; everything else
// (quotes, operators, punctuation) separates words and is never query
// syntax.
func searchWords(text string) []string { return appendSearchWords(nil, text) }

// Vocabulary words: typos are corrected towards words of the names,
// titles and kind/type/owner/tags of indexed documents (not their body
// text: that would cost every write far more than it finds) that have
// vocabMinRunes to vocabMaxRunes runes and a letter.
const (
	vocabMinRunes = 4
	vocabMaxRunes = 32
	// typoMinRunes: query words this long are matched with one edit.
	typoMinRunes = 5
)

func vocabWord(w string) bool {
	if len(w) < vocabMinRunes {
		return false // fewer runes still
	}
	n := utf8.RuneCountInString(w)
	return n >= vocabMinRunes && n <= vocabMaxRunes && strings.IndexFunc(w, unicode.IsLetter) >= 0
}

// addVocab adds the vocabulary words of texts to set (their words split
// into searchVector's scratch slice: a row's words are not kept).
func addVocab(set map[string]bool, texts ...string) {
	scratch := tsScratch.Get().(*tsBuffers)
	ws := scratch.words[:0]
	for _, t := range texts {
		ws = appendSearchWords(ws, t)
	}
	for _, w := range ws {
		if !set[w] && vocabWord(w) {
			set[w] = true
		}
	}
	clear(ws)
	scratch.words = ws[:0]
	tsScratch.Put(scratch)
}

// deletions are w and every string w less one rune (SymSpell's variants
// at distance 1).
func deletions(w string) []string {
	rs := []rune(w)
	out := make([]string, 0, len(rs)+1)
	out = append(out, w)
	for i := range rs {
		v := string(rs[:i]) + string(rs[i+1:])
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// oneEdit reports whether a and b are at most one edit apart: an
// insertion, a deletion, a substitution or a swap of adjacent runes.
func oneEdit(a, b string) bool {
	if a == b {
		return true
	}
	x, y := []rune(a), []rune(b)
	if len(x) > len(y) {
		x, y = y, x
	}
	if len(y)-len(x) > 1 {
		return false
	}
	i := 0
	for i < len(x) && x[i] == y[i] {
		i++
	}
	if len(x) == len(y) {
		if slices.Equal(x[i+1:], y[i+1:]) { // substitution
			return true
		}
		// adjacent swap
		return i+1 < len(x) && x[i] == y[i+1] && x[i+1] == y[i] && slices.Equal(x[i+2:], y[i+2:])
	}
	return slices.Equal(x[i:], y[i+1:]) // one rune more in y
}

// vocabCache remembers words committed to search_vocab, so a write adds
// only words it has not seen (most names share words). It only grows
// (until a reindex rebuilds the vocabulary); past vocabCacheMax words it
// stops remembering, and writes insert what they find (ON CONFLICT DO
// NOTHING: correct, only slower).
type vocabCache struct {
	mu    sync.Mutex
	words map[string]bool
}

const vocabCacheMax = 500000

func (c *vocabCache) unknown(set map[string]bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(set))
	for w := range set {
		if !c.words[w] {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

func (c *vocabCache) remember(words []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.words == nil {
		c.words = map[string]bool{}
	}
	for _, w := range words {
		if len(c.words) >= vocabCacheMax {
			return
		}
		c.words[w] = true
	}
}

func (c *vocabCache) reset() {
	c.mu.Lock()
	c.words = nil
	c.mu.Unlock()
}

// insertVocab adds words to search_vocab in tx: on SQLite each with its
// deletion variants, on PostgreSQL the word (its trigram index finds
// near words).
func (s *SQL) insertVocab(ctx context.Context, tx *sql.Tx, words []string) error {
	if len(words) == 0 {
		return nil
	}
	if s.d.FullText == FullTextPostgres {
		return s.insertRows(ctx, tx, "search_vocab", []string{"word"}, " ON CONFLICT DO NOTHING", func(yield func([]any) bool) {
			for _, w := range words {
				if !yield([]any{w}) {
					return
				}
			}
		})
	}
	// One prepared single-row INSERT per variant, in key order: a
	// multi-row INSERT needs a statement journal on SQLite, and variants
	// in word order land all over the table's B-tree.
	var pairs [][2]string
	for _, w := range words {
		for _, v := range deletions(w) {
			pairs = append(pairs, [2]string{v, w})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO search_vocab (variant, word) VALUES (?, ?)`)
	if err != nil {
		return fmt.Errorf("insert into search_vocab: %w", err)
	}
	defer st.Close()
	for _, p := range pairs {
		if _, err := st.ExecContext(ctx, p[0], p[1]); err != nil {
			return fmt.Errorf("insert into search_vocab: %w", err)
		}
	}
	return nil
}

// insertRows writes rows into table with multi-row INSERTs of at most
// MaxParams placeholders, each followed by suffix.
func (s *SQL) insertRows(ctx context.Context, tx *sql.Tx, table string, columns []string, suffix string, rows func(yield func([]any) bool)) error {
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	row := "(" + placeholders(len(columns)) + ")"
	perStmt := max(1, s.d.MaxParams/len(columns))
	var args []any
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		stmt := head + strings.TrimSuffix(strings.Repeat(row+",", n), ",") + suffix
		_, err := tx.ExecContext(ctx, s.q(stmt), args...)
		args, n = args[:0], 0
		if err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		return nil
	}
	var err error
	rows(func(vals []any) bool {
		args = append(args, vals...)
		n++
		if n == perStmt {
			err = flush()
		}
		return err == nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// ---- write path

// searchIndexer collects one transaction's index writes: search_docs rows
// through the transaction's inserter, and the vocabulary words to add
// before it commits.
type searchIndexer struct {
	s     *SQL
	docs  *rowInserter
	vocab map[string]bool
	// On SQLite: the largest doc_id stored before, and the last assigned.
	firstAfter, nextID int64
	// written: the rows and vocabulary are written (write); words, the
	// vocabulary words this transaction added.
	written bool
	words   []string
	// rows counts the rows added; bulk: a batch large enough to merge its
	// GIN entries once (searchBulkRows).
	rows int
	bulk bool
}

// On PostgreSQL, a batch of searchBulkRows search rows or more lets
// search_docs_tsv's pending list grow to searchBulkPending kB in its own
// transaction (sessions keep 256 kB) and merges it before committing: every
// search scans the whole list, the batch's uncommitted entries too, so it
// stays bounded, and is empty once the batch commits. The merges of a
// 10k-entity batch's entries 256 kB at a time wrote 86 MB of WAL in all,
// 80 MB with 1 MB and 78 MB with one merge.
const (
	searchBulkRows    = 1000
	searchBulkPending = 1024
)

// add indexes the entity stored as id.
func (x *searchIndexer) add(id int64, e *Entity) error {
	if x == nil {
		return nil
	}
	vals := x.s.searchValues(entitySearchRow(id, e.Ref, e.Body, e.Indexed), x.vocab)
	if x.rows++; x.rows == searchBulkRows && x.s.d.FullText == FullTextPostgres {
		if _, err := x.docs.tx.ExecContext(x.docs.ctx, fmt.Sprintf("SET LOCAL gin_pending_list_limit = %d", searchBulkPending)); err != nil {
			return fmt.Errorf("search index: %w", err)
		}
		x.bulk = true
	}
	if x.s.d.FullText == FullTextSQLite {
		x.nextID++
		return x.docs.add(append([]any{x.nextID}, vals...)...)
	}
	return x.docs.add(vals...)
}

// write writes the rows still buffered and the collected vocabulary, once,
// and merges a bulk batch's pending entries if merge is set: a first load
// calls it before it builds the indexes it dropped (the last chunk of rows
// and the vocabulary would otherwise go into the GIN indexes' pending
// lists, a merge each; a built index has none), and nothing is indexed
// after.
func (x *searchIndexer) write(ctx context.Context, tx *sql.Tx, merge bool) error {
	if x == nil || x.written {
		return nil
	}
	if err := x.docs.flush(); err != nil {
		return err
	}
	if x.bulk && merge {
		if _, err := tx.ExecContext(ctx, `SELECT gin_clean_pending_list(CAST('search_docs_tsv' AS regclass))`); err != nil {
			return fmt.Errorf("search index: merge pending entries: %w", err)
		}
	}
	if err := x.s.ftsAdd(ctx, tx, x.firstAfter); err != nil {
		return err
	}
	x.words = x.s.vocab.unknown(x.vocab)
	if err := x.s.insertVocab(ctx, tx, x.words); err != nil {
		return err
	}
	x.written = true
	return nil
}

// finish writes what write has not; commit calls done after the
// transaction commits.
func (x *searchIndexer) finish(ctx context.Context, tx *sql.Tx) (done func(), err error) {
	if x == nil {
		return func() {}, nil
	}
	if err := x.write(ctx, tx, true); err != nil {
		return nil, err
	}
	return func() { x.s.vocab.remember(x.words) }, nil
}

// ftsAdd indexes, on SQLite, the search_docs rows written after doc_id
// after in one statement (FTS5 then keeps their terms in memory until the
// transaction commits); PostgreSQL's tsvector is written with the row.
func (s *SQL) ftsAdd(ctx context.Context, tx *sql.Tx, after int64) error {
	if s.d.FullText != FullTextSQLite {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO search_fts (rowid, label, title, text, meta)
		SELECT doc_id, label, title, text, meta FROM search_docs WHERE doc_id > ?`, after)
	if err != nil {
		return fmt.Errorf("full-text index: %w", err)
	}
	return nil
}

// maxDocID is the largest doc_id stored (0: none): rows inserted after
// it, without an id, are above it (SQLite assigns the largest plus one).
func maxDocID(ctx context.Context, tx *sql.Tx) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(doc_id), 0) FROM search_docs`).Scan(&n)
	return n, err
}

// deleteSearchRows removes the search rows of type typ of entities ids.
func (s *SQL) deleteSearchRows(ctx context.Context, tx *sql.Tx, ids []int64, typ string) error {
	// Even with indexing off (an id may be reused once its entity goes),
	// unless there is no index at all.
	if s.d.FullText == "" || len(ids) == 0 {
		return nil
	}
	stmt := "DELETE FROM search_docs WHERE id IN (%s)"
	if typ != "" {
		stmt += " AND type = '" + typ + "'"
	}
	return s.execChunks(ctx, tx, stmt, ids)
}

// SetSearchIndexing turns the search index's upkeep on (the default) or
// off. Off exists only to measure what indexing adds to ingestion (the
// search benchmarks): entities written meanwhile are not searchable until
// `rigger search reindex`.
func (s *SQL) SetSearchIndexing(on bool) { s.noIndex.Store(!on || s.d.FullText == "") }

func (s *SQL) indexing() bool { return !s.noIndex.Load() }

// searchIndexOffInThisBuild is set by a build for benchmarks only
// (nosearchindex.go): its stores start with indexing off.
var searchIndexOffInThisBuild bool

// ReplaceDocsIndex implements Store: indexDocsTx in a transaction of its
// own.
func (s *SQL) ReplaceDocsIndex(ctx context.Context, entityRef string, docs []DocsSearchDoc) error {
	defer s.lockWrites()()
	if err := s.inTx(ctx, func(tx *sql.Tx) error { return s.indexDocsTx(ctx, tx, entityRef, docs) }); err != nil {
		return err
	}
	s.wrote(len(docs))
	return nil
}

// indexDocsTx replaces the docs rows of the entity entityRef names with
// docs, in tx: the docs build's own transaction calls it, so a saved site
// is searchable when it commits. The entity must be stored; its docs rows
// go when it does. (Its new vocabulary words are not remembered as
// committed, since tx may yet roll back: a later write inserts them
// again, ON CONFLICT DO NOTHING.)
func (s *SQL) indexDocsTx(ctx context.Context, tx *sql.Tx, entityRef string, docs []DocsSearchDoc) error {
	_, err := s.indexDocs(ctx, tx, entityRef, docs)
	return err
}

func (s *SQL) indexDocs(ctx context.Context, tx *sql.Tx, entityRef string, docs []DocsSearchDoc) ([]string, error) {
	var id int64
	var kind, ns, name string
	lookup := `SELECT id, kind, namespace, name FROM entities WHERE ref = ?`
	if s.d.FullText == FullTextPostgres {
		// Another replica's write of the same docs (or delete of the
		// entity) waits for this one's.
		lookup += ` FOR UPDATE`
	}
	err := tx.QueryRowContext(ctx, s.q(lookup), strings.ToLower(entityRef)).Scan(&id, &kind, &ns, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound("no entity named %q", entityRef)
	}
	if err != nil {
		return nil, fmt.Errorf("index docs of %s: %w", entityRef, err)
	}
	if err := s.deleteSearchRows(ctx, tx, []int64{id}, SearchTypeDocs); err != nil {
		return nil, fmt.Errorf("index docs of %s: %w", entityRef, err)
	}
	if !s.indexing() || len(docs) == 0 {
		return nil, nil
	}
	after, err := maxDocID(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("index docs of %s: %w", entityRef, err)
	}
	// The kind as written comes from the entity's catalog row, so docs
	// facets count kinds like entities do.
	kindText, label := kind, name
	if err := tx.QueryRowContext(ctx, s.q(`SELECT kind_text, label FROM search_docs WHERE id = ? AND type = ?`), id, SearchTypeCatalog).Scan(&kindText, &label); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("index docs of %s: %w", entityRef, err)
	}
	vocab := map[string]bool{}
	err = s.insertRows(ctx, tx, "search_docs", s.searchColumns(), "", func(yield func([]any) bool) {
		for _, d := range docs {
			row := searchRow{entityID: id, typ: SearchTypeDocs, path: clipText(d.Location, maxIndexedTitle), kind: kind, namespace: ns, name: name,
				kindText: kindText, title: clipText(d.Title, maxIndexedTitle), txt: clipText(d.Text, maxIndexedText)}
			if !yield(s.searchValues(row, vocab)) {
				return
			}
		}
	})
	if err == nil {
		err = s.ftsAdd(ctx, tx, after)
	}
	if err != nil {
		return nil, fmt.Errorf("index docs of %s: %w", entityRef, err)
	}
	words := s.vocab.unknown(vocab)
	if err := s.insertVocab(ctx, tx, words); err != nil {
		return nil, fmt.Errorf("index docs of %s: %w", entityRef, err)
	}
	return words, nil
}

// ---- reindex

// reindexChunk is how many entities a reindex reads at a time.
const reindexChunk = 1000

// ReindexSearch implements Store: it rebuilds, in one transaction, every
// entity's search row from its stored body and the typo vocabulary from
// every row; docs rows are kept (their text is the docs build's) and
// re-indexed with the rest (on PostgreSQL, their vectors built again).
// progress, if set, is called after each chunk with the entities done and
// the total.
func (s *SQL) ReindexSearch(ctx context.Context, progress func(done, total int)) error {
	if searchIndexOffInThisBuild {
		return errors.New("this rigger was built with -tags benchnosearchindex (for benchmarks only) and writes no search index: reindex with a release build")
	}
	return s.reindexSearch(ctx, false, progress)
}

// reindexSearch rebuilds the index; onlyIfNeeded skips it unless the
// needs_reindex mark is set (checked under the reindex's lock, so replicas
// starting together build it once).
func (s *SQL) reindexSearch(ctx context.Context, onlyIfNeeded bool, progress func(done, total int)) error {
	defer s.lockWrites()()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.d.FullText == FullTextPostgres {
			// Writers of other replicas wait (their rows would be indexed
			// twice), and so does another reindex; readers do not.
			if _, err := tx.ExecContext(ctx, `LOCK TABLE entities, search_docs IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `DELETE FROM search_state WHERE key = 'rebuilding'`); err != nil {
			// A write first: SQLite's one write lock is held from here.
			return err
		}
		if onlyIfNeeded {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_state WHERE key = 'needs_reindex'`).Scan(&n); err != nil || n == 0 {
				return err
			}
		}
		return s.reindex(ctx, tx, progress)
	})
	s.vocab.reset()
	if err != nil {
		return fmt.Errorf("reindex search: %w", err)
	}
	return nil
}

func (s *SQL) reindex(ctx context.Context, tx *sql.Tx, progress func(done, total int)) error {
	var total int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM entities`).Scan(&total); err != nil {
		return err
	}
	for _, stmt := range []string{
		"DELETE FROM search_docs WHERE type = '" + SearchTypeCatalog + "'",
		"DELETE FROM search_vocab",
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	var last int64
	done := 0
	for {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id, ref, body FROM entities WHERE id > ? ORDER BY id LIMIT ?`), last, reindexChunk)
		if err != nil {
			return err
		}
		var batch []searchRow
		for rows.Next() {
			var id int64
			var ref, body string
			if err := rows.Scan(&id, &ref, &body); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, entitySearchRow(id, ref, []byte(body), nil))
			last = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		if err := s.insertRows(ctx, tx, "search_docs", s.searchColumns(), "", func(yield func([]any) bool) {
			for _, r := range batch {
				if !yield(s.searchValues(r, nil)) {
					return
				}
			}
		}); err != nil {
			return err
		}
		done += len(batch)
		if progress != nil {
			progress(done, total)
		}
	}
	if done == 0 && progress != nil {
		progress(0, total)
	}
	if err := s.reindexDocsVectors(ctx, tx); err != nil {
		return err
	}
	// The vocabulary, from every row (entities' and docs').
	vocab := map[string]bool{}
	var lastRow int64
	for {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT doc_id, label, title, meta FROM search_docs WHERE doc_id > ? ORDER BY doc_id LIMIT ?`), lastRow, reindexChunk)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			var label, title, meta string
			if err := rows.Scan(&lastRow, &label, &title, &meta); err != nil {
				rows.Close()
				return err
			}
			addVocab(vocab, label, title, meta)
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	words := make([]string, 0, len(vocab))
	for w := range vocab {
		words = append(words, w)
	}
	slices.Sort(words)
	if err := s.insertVocab(ctx, tx, words); err != nil {
		return err
	}
	if s.d.FullText == FullTextSQLite {
		// Rebuilt from search_docs whole: repairs any drift of the
		// external-content index.
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_fts (search_fts) VALUES ('rebuild')`); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM search_state WHERE key = 'needs_reindex'`)
	return err
}

// reindexDocsVectors builds, on PostgreSQL, the vectors of the docs rows
// again from their text (kept as the docs build wrote it): rows written
// before the store built vectors hold to_tsvector's, which split some
// words otherwise than a search term's.
func (s *SQL) reindexDocsVectors(ctx context.Context, tx *sql.Tx) error {
	if s.d.FullText != FullTextPostgres {
		return nil
	}
	var last int64
	for {
		rows, err := tx.QueryContext(ctx, s.q(`SELECT doc_id, label, title, meta, text FROM search_docs WHERE type = ? AND doc_id > ? ORDER BY doc_id LIMIT ?`),
			SearchTypeDocs, last, reindexChunk)
		if err != nil {
			return err
		}
		var ids []int64
		var vectors []string
		for rows.Next() {
			var f searchFields
			if err := rows.Scan(&last, &f[0], &f[1], &f[2], &f[3]); err != nil {
				rows.Close()
				return err
			}
			v, err := f.Value()
			if err != nil {
				rows.Close()
				return err
			}
			ids, vectors = append(ids, last), append(vectors, v.(string))
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE search_docs d SET tsv = CAST(v.tsv AS tsvector)
			FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[])) AS v(id, tsv) WHERE d.doc_id = v.id`), ids, vectors); err != nil {
			return err
		}
	}
}

// reindexIfNeeded builds the index once after the migration that created
// it, from the entities already stored.
func (s *SQL) reindexIfNeeded(ctx context.Context) error {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM search_state WHERE key = 'needs_reindex'`).Scan(&n); err != nil {
		return fmt.Errorf("%s: read search index state: %w", s.d.Name, err)
	}
	if n == 0 {
		return nil
	}
	return s.reindexSearch(ctx, true, nil)
}
