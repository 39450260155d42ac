package store

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
)

// A search reads no more of its matches than it must:
//
//   - counts: the readable matches by type and kind, at most
//     MaxSearchCount+1 of them (searchCounts);
//   - names: the entities whose name is the term or starts with it, in
//     name order from the entities_name index, as many as the page needs
//     (searchNames);
//   - the rest, best first (searchRest): ranked by the engine (FTS5
//     consumes ORDER BY rank itself, so the join and the access
//     predicate run only for the rows it hands out; on PostgreSQL the
//     counts' own pass sorts them by ts_rank with a top-N heap). Past
//     MaxSearchCount matches the counts stop but the ranking does not
//     (a broad term's best match may be the last written, and a page in
//     index order missed it): PostgreSQL ranks every match, SQLite puts
//     the matches in a name or title first (searchRestTiered).
//
// Access is in every one of these queries, before their LIMIT: nothing
// is filtered after the fact, so what is counted and paged is what the
// caller may read.

// searchIDs counts and facets the readable matches into page and returns
// the ids of the page's documents (one more than the limit, to tell
// whether more follow), best first.
func (s *SQL) searchIDs(ctx context.Context, p *searchPlan, page *SearchPage) ([]int64, error) {
	need := p.q.Offset + p.q.Limit + 1
	// The counts run beside the page's queries, on another connection.
	counted := make(chan error, 1)
	var counts SearchPage
	var ranked *[]int64
	go func() {
		var err error
		ranked, err = s.searchCounts(ctx, p, &counts, need)
		counted <- err
	}()
	ids, err := s.searchPageIDs(ctx, p, need, func() (bool, *[]int64, error) {
		err := <-counted
		counted <- err
		return counts.Capped, ranked, err
	})
	if cerr := <-counted; err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	*page = counts
	return ids, nil
}

// searchPageIDs returns the page's need ids; counted waits for the
// counts and says whether they were capped, with the best need matches
// that are not name matches when the counts ranked them (nil: they did
// not).
func (s *SQL) searchPageIDs(ctx context.Context, p *searchPlan, need int, counted func() (bool, *[]int64, error)) ([]int64, error) {
	names, err := s.searchNames(ctx, p, need)
	if err != nil {
		return nil, err
	}
	if len(names) >= need {
		return names[p.q.Offset:need], nil
	}
	broad, ranked, err := counted()
	if err != nil {
		return nil, err
	}
	// names holds every name match: the rest come after them.
	offset, limit := max(0, p.q.Offset-len(names)), need-max(p.q.Offset, len(names))
	var rest []int64
	if ranked != nil {
		r := *ranked
		rest = r[min(offset, len(r)):min(offset+limit, len(r))]
	} else if broad && p.match != "" && s.d.FullText == FullTextSQLite {
		if rest, err = s.searchRestTiered(ctx, p, offset, limit); err != nil {
			return nil, err
		}
	} else if rest, err = s.searchRest(ctx, p, p.match, true, offset, limit); err != nil {
		return nil, err
	}
	var ids []int64
	if p.q.Offset < len(names) {
		ids = append(ids, names[p.q.Offset:]...)
	}
	return append(ids, rest...), nil
}

// nameRanked reports whether results whose entity's name is (or starts
// with) the term come first: a term and entity results are wanted.
func (p *searchPlan) nameRanked() bool {
	return p.name != "" && p.match != "" && (len(p.types) != 1 || p.types[0] == SearchTypeCatalog)
}

// namePattern is the LIKE pattern of names starting with the term.
func (p *searchPlan) namePattern() string {
	return likeEscaper.Replace(p.name) + "%"
}

// searchNames returns the ids of up to limit matching entity documents
// whose entity's name is the term or starts with it, in name order (the
// name itself is the first of those starting with it).
func (s *SQL) searchNames(ctx context.Context, p *searchPlan, limit int) ([]int64, error) {
	if !p.nameRanked() {
		return nil, nil
	}
	// No match is checked: an entity name is ASCII letters and digits
	// separated by '-', '_' or '.', which split words for both engines as
	// for searchWords, so a name starting with the term holds each of the
	// term's words as a word (the last as a prefix): its document matches.
	// (Checking it row by row costs FTS5 a fresh prefix lookup each.)
	//
	// The names are a range of the names index (names are ASCII: U+FFFF
	// sorts after every name starting with the term), checked by LIKE.
	q := s.builder()
	if s.d.FullText == FullTextPostgres {
		// The range is of entities_name_pattern, in byte order whatever
		// the database's collation, written with its operators: a LIKE
		// alone uses the index only in a plan made for its pattern, and
		// the statement is prepared, so PostgreSQL soon plans it once for
		// any pattern and then scanned every entity (60 ms at 100k). The
		// names are sorted before the join (OFFSET 0 keeps the subquery
		// whole), so that the join stops at the page's last readable
		// one instead of checking every name starting with a short term
		// (a third of the buffers for a 3-letter prefix at 100k).
		q.add(`SELECT e.doc_id FROM (SELECT x.id, x.name FROM entities x WHERE x.name ~>=~ ? AND x.name ~<~ ? AND x.name LIKE ? ESCAPE '\'`+
			` ORDER BY x.name COLLATE "C", x.id OFFSET 0) x JOIN search_docs e ON e.id = x.id AND e.type = ? WHERE 1=1`,
			p.name, p.name+"\uffff", p.namePattern(), SearchTypeCatalog)
	} else {
		q.add("SELECT e.doc_id FROM entities x JOIN search_docs e ON e.id = x.id AND e.type = ? WHERE ", SearchTypeCatalog)
		q.add(`x.name >= ? AND x.name < ? AND x.name LIKE ? ESCAPE '\'`, p.name, p.name+"\uffff", p.namePattern())
	}
	s.conds(&q, p, []string{SearchTypeCatalog}, p.kinds)
	if s.d.FullText == FullTextPostgres {
		q.add(` ORDER BY x.name COLLATE "C", x.id`)
	} else {
		q.add(" ORDER BY x.name, x.id")
	}
	q.limit(limit)
	return s.ids(ctx, q)
}

// searchRest returns limit ids from offset of the documents matching
// match that searchNames does not return: by rank when ranked (for an
// empty term, in index order). On PostgreSQL past MaxSearchCount matches
// too: the counts stop there, the order does not (the best match of a
// broad term may be the last written); SQLite ranks those in tiers
// (searchRestTiered).
func (s *SQL) searchRest(ctx context.Context, p *searchPlan, match string, ranked bool, offset, limit int) ([]int64, error) {
	ranked = ranked && match != ""
	q := s.builder()
	q.add("SELECT e.doc_id")
	s.from(&q, p, match, ranked)
	s.conds(&q, p, p.types, p.kinds)
	if p.nameRanked() {
		q.add(` AND NOT (e.type = ? AND e.name LIKE ? ESCAPE '\')`, SearchTypeCatalog, p.namePattern())
	}
	switch {
	case !ranked && match != "" && s.d.FullText == FullTextSQLite:
		q.add(" ORDER BY search_fts.rowid") // FTS5's own order: no sort
	case !ranked:
		q.add(" ORDER BY e.doc_id")
	case s.d.FullText == FullTextPostgres:
		q.add(" ORDER BY ts_rank(e.tsv, "+tsQueryOnce+") DESC, e.doc_id", p.match)
	default:
		// FTS5 sorts by its rank column before the join (see from).
		q.add(" ORDER BY search_fts.rank")
	}
	q.limit(limit)
	q.add(" OFFSET ?", offset)
	return s.ids(ctx, q)
}

// searchRestTiered is searchRest past MaxSearchCount matches on SQLite:
// FTS5 computes bm25 for every match it sorts (70-90 ms at 100k entities
// for a two-letter prefix, against 10 without), so the matches in a
// name or title come first, then the others, each tier in index order:
// a column filter, answered from the index like the match itself.
func (s *SQL) searchRestTiered(ctx context.Context, p *searchPlan, offset, limit int) ([]int64, error) {
	titled := "{label title} : (" + p.match + ")"
	first, err := s.searchRest(ctx, p, titled, false, offset, limit)
	if err != nil || len(first) == limit {
		return first, err
	}
	// The first tier ends within the page: count it, to start the
	// second where it ends.
	n := offset + len(first)
	if len(first) == 0 && offset > 0 {
		var all []int64
		if all, err = s.searchRest(ctx, p, titled, false, 0, offset); err != nil {
			return nil, err
		}
		n = len(all)
	}
	rest, err := s.searchRest(ctx, p, "("+p.match+") NOT "+titled, false, max(0, offset-n), limit-len(first))
	return append(first, rest...), err
}

// tsQueryOnce is a term's tsquery read once per query, as a subquery's
// value: a prepared statement's generic plan otherwise reads it for every
// row it ranks (to_tsquery took 4 of a search's 7 ms at 700 matches); and
// the planner does not see the term (readableTypos). A term's tsquery is
// read as written (CAST, not to_tsquery): its words are split and
// lower-cased in Go as the indexed words are (searchVector), and
// PostgreSQL's text parser, which splits some of them otherwise ("1e5x"),
// runs on neither side.
const tsQueryOnce = "(SELECT CAST(? AS tsquery))"

// searchSettings are the settings of every PostgreSQL search
// transaction: no JIT compilation. A search's queries are short, but
// enable_seqscan = off makes the cost of any plan that keeps a
// sequential scan (of a small table) exceed jit_above_cost, and
// compiling it then costs tens of milliseconds. (One statement of the
// simple protocol: the settings cost one round trip.)
const searchSettings = `SET LOCAL jit = off`

// ids runs a query of one integer column.
func (s *SQL) ids(ctx context.Context, q sqlBuilder) ([]int64, error) {
	var ids []int64
	err := s.searchRows(ctx, q, func(rows *sql.Rows) error {
		var id int64
		err := rows.Scan(&id)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

// searchRows runs a search query (prepared once), calling each for each
// row. On PostgreSQL it runs with sequential scans disabled: the
// planner overestimates how many documents a prefix matches, and under
// a LIMIT or EXISTS it then scans the table hoping to stop early (82 ms
// at 20k documents for a prefix matching 436, against under 2 ms from
// the GIN index). Pages and counts of broad terms still stop early, on
// the primary key. And it runs without JIT compilation (searchSettings).
// With a SearchDB (whose sessions have both settings) a query is one
// statement; otherwise a read-only transaction sets them.
func (s *SQL) searchRows(ctx context.Context, q sqlBuilder, each func(*sql.Rows) error) error {
	var rows *sql.Rows
	if db := s.d.SearchDB; db != nil {
		// Its sessions have the settings.
		st, query, err := s.cachedStmtOn(ctx, db, &s.searchStmts, q.b.String())
		if err != nil {
			return err
		}
		if st != nil {
			rows, err = st.QueryContext(ctx, q.args...)
		} else {
			rows, err = db.QueryContext(ctx, query, q.args...)
		}
		if err != nil {
			return err
		}
	} else if s.d.FullText == FullTextPostgres {
		st, query, err := s.cachedStmt(ctx, q.b.String())
		if err != nil {
			return err
		}
		tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return err
		}
		defer tx.Rollback() //nolint:errcheck // read-only
		if _, err := tx.ExecContext(ctx, searchSettings+`; SET LOCAL enable_seqscan = off`); err != nil {
			return err
		}
		if st != nil {
			rows, err = tx.StmtContext(ctx, st).QueryContext(ctx, q.args...)
		} else {
			rows, err = tx.QueryContext(ctx, query, q.args...)
		}
		if err != nil {
			return err
		}
	} else {
		var err error
		if rows, err = s.cachedQuery(ctx, q.b.String(), q.args...); err != nil {
			return err
		}
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// searchCounts counts the readable matches (the first MaxSearchCount+1)
// by type and kind, and derives the total and both facets from them.
//
// On PostgreSQL, for a term, the same pass ranks them when they are not
// capped, and returns the best need of those searchRest would return,
// from its first (nil: not ranked): the matches' documents are read
// once, not once to count and again to rank. The matches are kept
// (with their tsvector, still compressed or out of line) in a CTE: when
// there are more than MaxSearchCount, none is ranked.
func (s *SQL) searchCounts(ctx context.Context, p *searchPlan, page *SearchPage, need int) (*[]int64, error) {
	rank := s.d.FullText == FullTextPostgres && p.match != ""
	q := s.builder()
	if rank {
		q.add("WITH t AS MATERIALIZED (SELECT e.doc_id, e.type, e.kind, e.kind_text, e.name, e.tsv")
	} else {
		q.add("SELECT t.type, t.kind_text, COUNT(*) FROM (SELECT e.type, e.kind_text")
	}
	s.from(&q, p, p.match, false)
	s.conds(&q, p, nil, nil)
	if rank {
		q.limit(MaxSearchCount + 1)
		q.add(") SELECT t.type, t.kind_text, COUNT(*), NULL::bigint, NULL::real FROM t GROUP BY t.type, t.kind_text")
		q.add(" UNION ALL (SELECT NULL, NULL, NULL, t.doc_id, ts_rank(t.tsv, "+tsQueryOnce+") AS r FROM t WHERE (SELECT COUNT(*) FROM t) <= ?", p.match, MaxSearchCount)
		// As searchRest's conds and name test.
		if len(p.types) == 1 {
			q.add(" AND t.type = ?", p.types[0])
		}
		if len(p.kinds) > 0 {
			q.add(" AND ")
			inList(&q, "t.kind", p.kinds)
		}
		if p.nameRanked() {
			q.add(` AND NOT (t.type = ? AND t.name LIKE ? ESCAPE '\')`, SearchTypeCatalog, p.namePattern())
		}
		q.add(" ORDER BY r DESC, t.doc_id")
		q.limit(need)
		q.add(")")
	} else {
		q.limit(MaxSearchCount + 1)
		q.add(") t GROUP BY t.type, t.kind_text")
	}
	f := newFacetCounter(p)
	all := 0
	type hit struct {
		id   int64
		rank float32
	}
	var hits []hit
	if err := s.searchRows(ctx, q, func(rows *sql.Rows) error {
		var typ, kind string
		var n int
		if !rank {
			err := rows.Scan(&typ, &kind, &n)
			f.add(typ, kind, n)
			all += n
			return err
		}
		var ntyp, nkind sql.NullString
		var nn, id sql.NullInt64
		var r sql.NullFloat64
		if err := rows.Scan(&ntyp, &nkind, &nn, &id, &r); err != nil {
			return err
		}
		if nn.Valid {
			f.add(ntyp.String, nkind.String, int(nn.Int64))
			all += int(nn.Int64)
		} else {
			hits = append(hits, hit{id.Int64, float32(r.Float64)})
		}
		return nil
	}); err != nil {
		return nil, err
	}
	f.finish(page)
	page.Capped = all > MaxSearchCount
	if !rank || page.Capped {
		return nil, nil
	}
	// In searchRest's order (a UNION ALL need not keep its part's).
	slices.SortFunc(hits, func(a, b hit) int {
		if a.rank != b.rank {
			return cmp.Compare(b.rank, a.rank)
		}
		return cmp.Compare(a.id, b.id)
	})
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	return &ids, nil
}

// from writes the FROM and the match of a search: the documents that
// match (an engine query; "": every document). The documents are
// search_docs rows under the alias e: they carry their entity's id,
// kind, namespace and name as entities rows do, so filters and access
// (cond, expr) apply to them with no entity row read. ranked (SQLite)
// makes FTS5's rank column the weighted bm25 (label, title, text, meta:
// a name's word weighs most), which ORDER BY search_fts.rank sorts by.
func (s *SQL) from(q *sqlBuilder, p *searchPlan, match string, ranked bool) {
	switch {
	case match == "":
		q.add(" FROM search_docs e WHERE 1=1")
	case s.d.FullText == FullTextPostgres:
		q.add(" FROM search_docs e WHERE e.tsv @@ CAST(? AS tsquery)", match)
	default:
		q.add(" FROM search_fts JOIN search_docs e ON e.doc_id = search_fts.rowid WHERE search_fts MATCH ?", match)
		if ranked {
			q.add(" AND search_fts.rank MATCH 'bm25(10.0, 5.0, 1.0, 2.0)'")
		}
	}
}

// conds writes the conditions of a search after its match: the types
// and kinds asked for (nil: all; the facets count without them), the
// filters, and what the caller may read.
func (s *SQL) conds(q *sqlBuilder, p *searchPlan, types, kinds []string) {
	// A document names its entity by kind, namespace and name (lower-cased,
	// as in its ref), not by ref.
	q.refExpr = "(e.kind || ':' || e.namespace || '/' || e.name)"
	if len(types) == 1 {
		q.add(" AND e.type = ?", types[0])
	}
	if len(kinds) > 0 {
		q.add(" AND ")
		inList(q, "e.kind", kinds)
	}
	for _, c := range p.q.Filters {
		q.add(" AND ")
		cond(q, c)
	}
	// What the caller may read, per type: the entity for entity results,
	// its docs for docs results.
	wantCatalog := len(types) != 1 || types[0] == SearchTypeCatalog
	wantDocs := len(types) != 1 || types[0] == SearchTypeDocs
	access, docs := p.q.Access, p.q.DocsAccess
	switch {
	case wantCatalog && wantDocs && access.String() == docs.String():
		if !access.IsTrue() {
			q.add(" AND ")
			expr(q, access)
		}
	case wantCatalog && wantDocs:
		q.add(" AND ((e.type = ? AND ", SearchTypeCatalog)
		expr(q, access)
		q.add(") OR (e.type = ? AND ", SearchTypeDocs)
		expr(q, docs)
		q.add("))")
	case wantCatalog && !access.IsTrue():
		q.add(" AND ")
		expr(q, access)
	case wantDocs && !docs.IsTrue():
		q.add(" AND ")
		expr(q, docs)
	}
}

// readableTypos keeps, of each word's typo candidates, those that occur
// in a document the caller may read (with the query's types, kinds and
// filters), at most maxTypoCandidates of them in alphabetical order: a
// word only in documents hidden from the caller never displaces one of
// theirs, nor shows in their highlights. One query per 32 candidates,
// each an EXISTS that stops at the first readable document.
//
// On PostgreSQL the EXISTS is planned without knowing the word (a row of
// the candidates' array), which takes the word's documents from the
// GIN index and reads them until one is readable. Planned for the word,
// with statistics saying it is common, it would walk the table in index
// order hoping to meet one early: every document when the word's are
// all hidden (127 ms at 20k documents). Reading all the word's
// documents first instead (as this did) cost 1-5 ms per candidate at
// 100k.
func (s *SQL) readableTypos(ctx context.Context, p *searchPlan) error {
	var all []string
	seen := map[string]bool{}
	for _, w := range p.words {
		for _, c := range p.typos[w] {
			if !seen[c] {
				seen[c] = true
				all = append(all, c)
			}
		}
	}
	readable := map[string]bool{}
	for _, chunk := range chunks(all, 32) {
		q := s.builder()
		if s.d.FullText == FullTextPostgres {
			// One EXISTS run for each candidate (quoted as exactTerm
			// does): the access predicate's hashed subplans are built
			// once for all of them, not once for each.
			q.add(`SELECT w.c FROM unnest(CAST(? AS TEXT[])) AS w(c) WHERE EXISTS (SELECT 1 FROM search_docs e`+
				` WHERE e.tsv @@ CAST('''' || replace(w.c, '''', '''''') || '''' AS tsquery)`, chunk)
			s.conds(&q, p, p.types, p.kinds)
			q.add(")")
		} else {
			for i, c := range chunk {
				if i > 0 {
					q.add(" UNION ALL ")
				}
				q.add("SELECT CAST(? AS TEXT) WHERE EXISTS (SELECT 1", c)
				s.from(&q, p, exactTerm(s.d.FullText, c), false)
				s.conds(&q, p, p.types, p.kinds)
				q.add(")")
			}
		}
		if err := s.searchRows(ctx, q, func(rows *sql.Rows) error {
			var w string
			err := rows.Scan(&w)
			readable[w] = true
			return err
		}); err != nil {
			return err
		}
	}
	for _, w := range p.words {
		var kept []string
		for _, c := range p.typos[w] { // alphabetical
			if readable[c] && len(kept) < maxTypoCandidates {
				kept = append(kept, c)
			}
		}
		if len(kept) == 0 {
			delete(p.typos, w)
			continue
		}
		p.typos[w] = kept
	}
	return nil
}

// exactTerm is the engine's query for one whole word.
func exactTerm(engine, w string) string {
	if engine == FullTextPostgres {
		return "'" + strings.ReplaceAll(w, "'", "''") + "'"
	}
	return `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
}
