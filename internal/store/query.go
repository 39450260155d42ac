package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/riggerdev/rigger/internal/errs"
)

// sqlBuilder accumulates SQL text and its arguments in order.
type sqlBuilder struct {
	b    strings.Builder
	args []any
	// packed: the store keeps an entity's search rows as a rowid range
	// (Dialect.PackedRows); see searchOf.
	packed bool
	// limitParam is Dialect.LimitParam (see limit).
	limitParam string
	// refExpr is the SQL expression of the row's entity ref ("": e.ref,
	// an entities row's column; see ref).
	refExpr string
}

// ref is the SQL expression of the ref of the entity whose row the
// statement reads as e: relations are found by it.
func (q *sqlBuilder) ref() string { return cmp.Or(q.refExpr, "e.ref") }

// builder is a sqlBuilder for this store's dialect.
func (s *SQL) builder() sqlBuilder {
	return sqlBuilder{packed: s.d.PackedRows, limitParam: s.d.LimitParam}
}

// searchOf writes "FROM search s WHERE" and the predicate selecting the
// search rows of the entity whose id is the SQL expression id: a range of
// the table's rowids (its id column) where they are packed, the entity_id
// column otherwise. Packed, the table is NOT INDEXED: given a key too,
// SQLite would walk that key's rows in search_key_value for each entity
// (every component's spec.owner, per component) instead of the entity's
// few rows.
func (q *sqlBuilder) searchOf(id string) {
	if q.packed {
		q.add(fmt.Sprintf("FROM search s NOT INDEXED WHERE s.id BETWEEN %[1]s * %[2]d AND %[1]s * %[2]d + %[3]d", id, rowsPerEntity, rowsPerEntity-1))
		return
	}
	q.add("FROM search s WHERE s.entity_id = " + id)
}

func (q *sqlBuilder) add(sql string, args ...any) {
	q.b.WriteString(sql)
	q.args = append(q.args, args...)
}

// limit writes " LIMIT" and n, bound with the dialect's LimitParam.
func (q *sqlBuilder) limit(n int) { q.add(" LIMIT "+cmp.Or(q.limitParam, "?"), n) }

// columnFor maps keys that live in entity columns (lower-cased there).
func columnFor(key string) string {
	switch key {
	case "kind":
		return "e.kind"
	case "metadata.namespace":
		return "e.namespace"
	case "metadata.name":
		return "e.name"
	case "metadata.uid":
		return "e.uid"
	}
	return ""
}

func inList(q *sqlBuilder, col string, values []string) {
	q.add(col + " IN (" + placeholders(len(values)) + ")")
	q.args = append(q.args, anys(values)...)
}

// relationType is the relation type (lower-cased) a key relations.<type>
// names, and whether key is one. Relations are read from the relations
// table, which holds every relation whoever emitted it: the search table
// holds no relations.* rows (StoredSearchKey).
func relationType(key string) (string, bool) {
	return strings.CutPrefix(strings.ToLower(key), "relations.")
}

// relationCond writes "the entity has a relation of one of types (nil:
// any) whose target (lower-cased) is one of targets, or matches the LIKE
// pattern like (neither: any target)": as an IN semi-join a planner can
// start from (relations_type_target), or with perRow as a lookup of the
// row's own relations (by its ref), for a query that already has its
// candidates.
func relationCond(q *sqlBuilder, types, targets []string, like string, perRow bool) {
	typeCol := "r.type_lower"
	if perRow {
		q.add("EXISTS (SELECT 1 FROM relations r WHERE r.source_ref = " + q.ref())
		if len(targets) == 0 {
			// No target to seek with the type and the ref (every column
			// of relations_type_target): start from the ref.
			typeCol = rowRelationType
		}
	} else {
		q.add(q.ref() + " IN (SELECT r.source_ref FROM relations r WHERE 1=1")
	}
	if len(types) > 0 {
		q.add(" AND ")
		inList(q, typeCol, types)
	}
	if len(targets) > 0 {
		q.add(" AND ")
		inList(q, "r.target_lower", targets)
	}
	if like != "" {
		q.add(` AND r.target_lower LIKE ? ESCAPE '\'`, like)
	}
	q.add(")")
}

// rowRelationType is r.type_lower in a lookup of one row's relations, as
// no index can serve it: the lookup then starts from the row's ref
// (relations_source), where a planner without statistics (a new
// database) walked every relation of the type in relations_type_target
// for each row.
const rowRelationType = "r.type_lower || ''"

// StoredSearchKey says whether a search row of the (lower-cased) key is
// stored: every key but
//   - relations.<type>, whose rows would copy the relations table's (a
//     sixth of the search rows of a typical catalog, and only those the
//     entity emits itself: a group's relations.ownerOf, emitted by what it
//     owns, would be missing);
//   - metadata.namespace and metadata.uid (columnRow): the entity's own
//     columns answer every read of them (filters, access conditions,
//     order, facets, full text), and their rows were a tenth of the table.
//
// metadata.name and kind keep their rows, though their columns answer
// filters: facets list their values as written (the columns hold them
// lower-cased), and a picker's full text over names and titles scans
// search_key_value for the few keys it names (see fullTextCond).
//
// Rows of such keys a previous release wrote are left in place, for its
// servers still running during a rolling upgrade (their access checks
// read them), and change no answer here: no read of those keys looks at
// them but a full text over any value, which reads the same value from
// the column. They go as their entity is written again or removed.
func StoredSearchKey(key string) bool {
	if columnRow(key) {
		return false
	}
	_, relation := relationType(key)
	return !relation
}

// columnRow says whether key (lower-cased) is one whose search rows are
// not stored (StoredSearchKey), as its entity column holds what they
// would: metadata.namespace (a lower-case DNS label the catalog always
// sets) and metadata.uid (the catalog's own uid; the row held the uid a
// file declared, which the catalog does not keep, or a null).
func columnRow(key string) bool {
	return key == "metadata.namespace" || key == "metadata.uid"
}

// cond writes one filter condition as an index-served predicate.
func cond(q *sqlBuilder, c Cond) {
	key := strings.ToLower(c.Key)
	if key != "metadata.uid" { // uids are case-sensitive
		c.Values = lowerAll(c.Values)
	}
	if col := columnFor(key); col != "" {
		if len(c.Values) == 0 {
			q.add("1=1")
			return
		}
		inList(q, col, c.Values)
		return
	}
	if typ, ok := relationType(key); ok {
		relationCond(q, []string{typ}, c.Values, "", false)
		return
	}
	// An IN semi-join rather than a correlated EXISTS: both planners can then
	// start from the (key, value) index — a few rows for spec.owner=X — instead
	// of walking every entity of a kind and probing each one.
	q.add("e.id IN (SELECT s.entity_id FROM search s WHERE s.key = ?", key)
	if len(c.Values) > 0 {
		q.add(" AND ")
		inList(q, "s.value", c.Values)
	}
	q.add(")")
}

// where writes the filter, access and full-text predicates (always at least
// "1=1"). access (nil: everything) is what the caller may read.
func where(q *sqlBuilder, f Filter, access *Expr, fullText string, fields []string) {
	q.add("1=1")
	if !access.IsTrue() {
		q.add(" AND ")
		expr(q, access)
	}
	if len(f) > 0 {
		q.add(" AND (")
		for i, all := range f {
			if i > 0 {
				q.add(" OR ")
			}
			q.add("(1=1")
			for _, c := range all {
				q.add(" AND ")
				cond(q, c)
			}
			q.add(")")
		}
		q.add(")")
	}
	if strings.TrimSpace(fullText) != "" {
		q.add(" AND ")
		fullTextCond(q, fullText, fields, false)
	}
}

// likeEscaper escapes a LIKE pattern's literal text (ESCAPE '\'). A
// Replacer builds its tables on first use: one for the package, not one per
// query.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// fullTextCond writes the full-text predicate: one of the entity's values
// under fields (none: any) contains fullText (not blank), case-insensitively.
// A relations.<type> field's values are the targets of the entity's
// relations of that type, read from the relations table (as any value's
// are, with no fields). perRow asks for the form that tests one entity at
// a time, for a query that already has its few candidates (see walk).
func fullTextCond(q *sqlBuilder, fullText string, fields []string, perRow bool) {
	term := strings.ToLower(strings.TrimSpace(fullText))
	like := "%" + likeEscaper.Replace(term) + "%"
	if len(fields) == 0 {
		// Any value: the search rows', the relations' targets and the
		// namespace (whose rows are not stored). Not the uid: its rows
		// held a null (or a uid the catalog replaced), so a term of hex
		// digits ("cafe") does not match every entity whose uid has them.
		q.add("(EXISTS (SELECT 1 ")
		q.searchOf("e.id")
		q.add(` AND s.value LIKE ? ESCAPE '\') OR `, like)
		relationCond(q, nil, nil, like, true)
		q.add(` OR e.namespace LIKE ? ESCAPE '\')`, like)
		return
	}
	var keys, types, cols []string
	for _, f := range fields {
		key := strings.ToLower(f)
		if typ, ok := relationType(key); ok {
			types = append(types, typ)
		} else if columnRow(key) {
			cols = append(cols, columnFor(key))
		} else {
			keys = append(keys, key)
		}
	}
	q.add("(")
	for i, col := range cols {
		if i > 0 {
			q.add(" OR ")
		}
		q.add(col+` LIKE ? ESCAPE '\'`, like)
	}
	if len(cols) > 0 && len(keys)+len(types) > 0 {
		q.add(" OR ")
	}
	if len(keys) > 0 {
		if perRow {
			q.add("EXISTS (SELECT 1 ")
			q.searchOf("e.id")
			q.add(" AND ")
		} else {
			// A few fields (a picker's name and title): the matching rows
			// come from a scan of those keys in search_key_value, which
			// holds the value and the entity — not a lookup of every
			// candidate entity's rows (~10x faster at 100k entities).
			q.add("e.id IN (SELECT s.entity_id FROM search s WHERE ")
		}
		inList(q, "s.key", keys)
		q.add(` AND s.value LIKE ? ESCAPE '\')`, like)
	}
	if len(types) > 0 {
		if len(keys) > 0 {
			q.add(" OR ")
		}
		relationCond(q, types, nil, like, perRow)
	}
	q.add(")")
}

// sortExpr is the SQL value an order field sorts by.
func sortExpr(q *sqlBuilder, field string) {
	key := strings.ToLower(field)
	if key == "" || key == "ref" {
		q.add("e.ref")
		return
	}
	if col := columnFor(key); col != "" {
		q.add(col)
		return
	}
	if typ, ok := relationType(key); ok {
		q.add("COALESCE((SELECT MIN(r.target_lower) FROM relations r WHERE r.source_ref = "+q.ref()+" AND "+rowRelationType+" = ?), '')", typ)
		return
	}
	q.add("COALESCE((SELECT MIN(s.value) ")
	q.searchOf("e.id")
	q.add(" AND s.key = ?), '')", key)
}

// HiddenRefs implements Store: the refs among refs (keys, compared
// lower-cased) that name a stored entity access does not admit, in one
// query. The refs travel as one parameter (a JSON array on SQLite, a
// text[] on PostgreSQL), so the statement text is one per access
// predicate, whatever the number of refs, and nothing is bound per ref;
// only the hidden refs come back (under common policies none). For an
// owner page at 100k entities (~270 targets) that is ~40 % less CPU on
// SQLite than a padded IN list answering every ref, and ~70 % less in
// the client on PostgreSQL (whose server now probes each target rather
// than hashing every entity a condition names: proportional to the
// targets, whatever the policy hides). A page or a by-name read of a
// write generation the service holds the hidden set of does not ask
// (catalogsvc.hiddenSets).
func (s *SQL) HiddenRefs(ctx context.Context, refs []string, access *Expr) (map[string]bool, error) {
	out := map[string]bool{}
	if len(refs) == 0 || access.IsTrue() {
		return out, nil
	}
	lower := make([]string, len(refs))
	for i, r := range refs {
		lower[i] = strings.ToLower(r)
	}
	q := s.builder()
	q.add("SELECT e.ref FROM entities e WHERE ")
	if s.d.Name == "postgres" {
		// pgx sends a text[]. Behind ARRAY(SELECT unnest(...)) (an
		// InitPlan) the planner does not see the refs: its custom plan is
		// the generic one, so after five runs the plan is kept. Bare, the
		// planner estimated each ref every run, and kept re-planning for
		// a few refs (generic cost above custom): 0.15-0.19 ms against
		// 0.03 ms for a by-name's targets at 100k (pgbench -M prepared,
		// one client), the same ~0.8 ms for an owner page's ~360.
		q.add("e.ref = ANY(ARRAY(SELECT unnest(?::text[])))", lower)
	} else {
		list, err := json.Marshal(lower)
		if err != nil {
			return nil, err
		}
		q.add("e.ref IN (SELECT value FROM json_each(?))", string(list))
	}
	// Hidden is where the predicate is not true (false or NULL): what a
	// list leaves out.
	q.add(" AND CASE WHEN ")
	where(&q, nil, access, "", nil)
	q.add(" THEN 0 ELSE 1 END = 1")
	rows, err := s.cachedQuery(ctx, q.b.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("hidden refs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return nil, err
		}
		out[ref] = true
	}
	return out, rows.Err()
}

// MaxLimit caps a page.
const MaxLimit = 10000

// Query implements Store with keyset (After/Before) or offset paging.
func (s *SQL) Query(ctx context.Context, qu Query) (Page, error) {
	if qu.CountOnly {
		return s.countOnly(ctx, qu)
	}
	if qu.Limit <= 0 || qu.Limit > MaxLimit {
		return Page{}, errs.Invalid("limit must be between 1 and %d", MaxLimit)
	}
	order := qu.Order
	if len(order) == 0 {
		order = []Order{{Field: "ref"}}
	}
	pos := qu.After
	backwards := false
	if qu.Before != nil {
		pos, backwards = qu.Before, true
	}
	if pos != nil && len(pos.Values) != len(order) {
		return Page{}, errs.Invalid("cursor does not match the query's order fields")
	}

	// The count runs beside the page's query, on another connection: a
	// search that scans many rows pays for the slower of the two, not both.
	// A page on generic plans whose filter was counted to match few
	// counts them itself: its statement reads every match to sort them
	// anyway, and the count's was as long again (0.46-0.53 ms of the
	// database's time at 100k entities, against 1.2 ms for the page with
	// or without it). Not on a filter's first request: counting keeps
	// every match until the last is read, where a per-request plan of
	// a filter that turns out to match much stops at the page's end.
	hidden := qu.hiddenAt()
	var light bool
	qu.generic, light = s.genericKey(qu)
	together := light && qu.genericFor(hidden) != ""
	var page Page
	var total int
	counted := make(chan error, 1)
	if qu.NoTotal || together {
		counted <- nil
	} else {
		go func() {
			var err error
			total, _, err = s.count(ctx, qu, hidden)
			if err == nil {
				// Learned as soon as counted, whatever comes of the page
				// (one that fails on its own).
				s.countedMatches(qu, total)
			}
			counted <- err
		}()
	}
	waited := false
	defer func() { // every way out waits for it
		if !waited {
			<-counted
		}
	}()

	got, walked, err := s.walk(ctx, qu, order, pos, backwards) // (full text: never together)
	if err != nil {
		return Page{}, fmt.Errorf("query entities: %w", err)
	}
	matches := -1 // the page's own count, together
	retried := false
	if !walked {
		got, matches, err = s.sortedPage(ctx, qu, order, pos, backwards, hidden, together)
		if err == nil && hidden != nil && !readAt(got, hidden.Gen) {
			// Another generation (or no row to say which): the set may
			// not hold for what the statement read.
			retried = true
			got, matches, err = s.sortedPage(ctx, qu, order, pos, backwards, nil, together)
		}
		if err != nil {
			return Page{}, err
		}
	}
	if together {
		switch {
		case matches >= 0:
			total = matches
		case len(got) == 0 && pos == nil && qu.Offset == 0: // no match at all
			total = 0
		default: // a page past the last: counted apart (as it was read)
			h := hidden
			if retried {
				h = nil
			}
			if total, _, err = s.count(ctx, qu, h); err != nil {
				return Page{}, fmt.Errorf("count entities: %w", err)
			}
		}
		s.countedMatches(qu, total)
	}
	if len(got) > qu.Limit {
		page.HasMore = true
		got = got[:qu.Limit]
	}
	if backwards {
		slices.Reverse(got)
	}
	for _, g := range got {
		page.Entities = append(page.Entities, g.e)
	}
	if len(got) > 0 {
		page.First, page.Last = &got[0].pos, &got[len(got)-1].pos
	}
	waited = true
	if err := <-counted; err != nil {
		return Page{}, fmt.Errorf("count entities: %w", err)
	}
	page.TotalItems = total
	if !walked { // sortedPage read the relations with the page
		return page, nil
	}
	return page, s.attachRelations(ctx, page.Entities)
}

// hiddenAt is what the page and count leave out in place of testing
// Access (Query.Hidden), nil when they test Access or read everything.
func (qu Query) hiddenAt() *HiddenAt {
	if qu.Access.IsTrue() {
		return nil
	}
	return qu.Hidden
}

// countOnly answers a CountOnly query: the count alone.
func (s *SQL) countOnly(ctx context.Context, qu Query) (Page, error) {
	if qu.NoTotal {
		return Page{}, nil
	}
	total, gen, err := s.count(ctx, qu, qu.hiddenAt())
	if err != nil {
		return Page{}, fmt.Errorf("count entities: %w", err)
	}
	return Page{TotalItems: total, Gen: gen}, nil
}

// count is the number of qu's matches (Page.TotalItems); with hidden
// (see Query.Hidden), counted without the access predicate when the
// statement reads hidden's generation. Under an access predicate it
// returns the generation its statement read too (else 0).
func (s *SQL) count(ctx context.Context, qu Query, hidden *HiddenAt) (int, int64, error) {
	return s.countBy(ctx, qu, hidden, true)
}

// countBy is count, from the search index where fromSearch allows and
// countFromSearch can. hidden is qu.hiddenAt() or nil.
func (s *SQL) countBy(ctx context.Context, qu Query, hidden *HiddenAt, fromSearch bool) (int, int64, error) {
	path, key := countEntities, Cond{}
	if fromSearch {
		path, key = s.countFromSearch(qu, hidden)
	}
	q := s.builder()
	if path == countSearchLess {
		// At most one past the bound, read once for both uses below.
		q.add("WITH unadmitted AS MATERIALIZED (SELECT e.id FROM entities e WHERE ")
		notAdmitted(&q, qu.Access, true)
		q.limit(maxCountNotAdmitted + 1)
		q.add(") ")
	}
	q.add("SELECT COUNT(*)")
	withGen := !qu.Access.IsTrue()
	if withGen {
		q.add(", " + s.generationCol())
	}
	if path == countSearchLess {
		q.add(", (SELECT COUNT(*) FROM unadmitted)")
	}
	if path == countEntities {
		q.add(" FROM entities e WHERE ")
		s.whereRead(&q, qu, hidden)
	} else {
		q.add(" FROM (SELECT DISTINCT s.entity_id AS id FROM search s WHERE s.key = ?", key.Key)
		if len(key.Values) > 0 {
			q.add(" AND ")
			inList(&q, "s.value", key.Values)
		}
		q.add(") x")
		switch {
		case path == countSearchLess:
			q.add(" WHERE x.id NOT IN (SELECT id FROM unadmitted)")
		case hidden != nil && len(hidden.Refs) > 0:
			q.add(" WHERE x.id NOT IN (SELECT e.id FROM entities e WHERE e.ref IN (SELECT value FROM json_each(?)))", jsonList(hidden.Refs))
		}
	}
	var n, unadmitted int
	var gen sql.NullInt64 // NULL: no generation row yet
	dest := []any{&n}
	if withGen {
		dest = append(dest, &gen)
	}
	if path == countSearchLess {
		dest = append(dest, &unadmitted)
	}
	if err := s.scanOnePlanned(ctx, qu.genericFor(hidden), &s.generic.counts, q.b.String(), q.args, dest...); err != nil {
		return 0, 0, err
	}
	switch {
	case path == countSearchLess && unadmitted > maxCountNotAdmitted:
		// A policy that hides much of the catalog: test it on each match.
		return s.countBy(ctx, qu, nil, false)
	case hidden != nil && gen.Int64 != hidden.Gen: // (never countSearchLess)
		return s.countBy(ctx, qu, nil, fromSearch)
	}
	return n, gen.Int64, nil
}

// How count reads: the entity rows, or the search index alone
// (countFromSearch), less the hidden set given (exact at its generation
// only) or less what the access predicate does not admit.
const (
	countEntities = iota
	countSearch
	countSearchLess
)

// maxCountNotAdmitted bounds the entities an access predicate does not
// admit that a count from the search index subtracts (found in the same
// statement): past it the count tests the predicate on each match.
const maxCountNotAdmitted = 1024

// countFromSearch says how a count of qu's matches reads, and the search
// key it reads when not countEntities. It reads the search_key_value index
// alone where the dialect does (Dialect.CountFromSearch), for one
// condition on a key of the search table alone (metadata.labels.team=Y,
// metadata.tags=go, spec.type, a key that exists; what a client counts),
// and no full-text term. The matches are then the distinct entities of the
// condition's index rows, less those hidden names (countSearch), or else,
// under an access predicate, less those it does not admit (countSearchLess):
// found from the index rows of its conditions in the same statement
// (notAdmitted, as HiddenSet finds them: under common policies the few
// annotated sensitive), exact whatever was written since, and counted up
// to one past maxCountNotAdmitted. A count over the entity rows looks up
// each match's row, wide with its body: at 100,000 matches 100 MB of pages
// against the index's 4 MB (74 ms against 9 ms warm, and 0.6 to 1.2 s
// right after a load, while those pages are still in the write-ahead log).
// Beside a kind (an owner's page: kind=component,spec.owner=X) it does
// not: a probe of the index for each match's kind made owner pages at
// 100k slower (p50 1.51 and 1.72 ms against 1.43 and 1.54, 1,000 each),
// where their few matches' rows are as cheap. Every search row is written
// and removed with its entity's, in one transaction.
func (s *SQL) countFromSearch(qu Query, hidden *HiddenAt) (path int, key Cond) {
	if !s.d.CountFromSearch || strings.TrimSpace(qu.FullText) != "" || len(qu.Filter) != 1 {
		return countEntities, Cond{}
	}
	found := false
	for _, c := range qu.Filter[0] {
		c = Cond{Key: strings.ToLower(c.Key), Values: lowerAll(c.Values)}
		switch {
		case c.Key == "kind" && len(c.Values) == 0:
			// True of every entity.
		case found || columnFor(c.Key) != "" || strings.HasPrefix(c.Key, "relations."):
			return countEntities, Cond{}
		default:
			key, found = c, true
		}
	}
	switch {
	case !found:
		return countEntities, Cond{}
	case hidden == nil && !qu.Access.IsTrue():
		return countSearchLess, key
	}
	return countSearch, key
}

// lowerAll is vs lower-cased.
func lowerAll(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.ToLower(v)
	}
	return out
}

// whereRead writes where's predicates for qu; with hidden, the entities
// it lists are left out in place of the access predicate (Query.Hidden):
// nothing at all when it lists none. The list is one parameter (as in
// HiddenRefs), so the statement's text does not vary with it.
func (s *SQL) whereRead(q *sqlBuilder, qu Query, hidden *HiddenAt) {
	if hidden == nil {
		where(q, qu.Filter, qu.Access, qu.FullText, qu.FullTextFields)
		return
	}
	where(q, qu.Filter, nil, qu.FullText, qu.FullTextFields)
	if len(hidden.Refs) == 0 {
		return
	}
	if s.d.Name == "postgres" {
		q.add(" AND e.ref <> ALL(?::text[])", hidden.Refs)
		return
	}
	q.add(" AND e.ref NOT IN (SELECT value FROM json_each(?))", jsonList(hidden.Refs))
}

// readAt reports whether got has rows and each was read at generation gen.
func readAt(got []positioned, gen int64) bool {
	for _, g := range got {
		if g.e.Gen != gen {
			return false
		}
	}
	return len(got) > 0
}

// positioned is an entity of a page and its cursor position.
type positioned struct {
	e   *StoredEntity
	pos Position
}

// sortedPage is a page of qu (limit+1 rows, in the direction asked) by
// sorting every match: one SQL statement. The matches are sorted by their
// id, uid and sort values alone; the page's rows then read their bodies
// and relations (a subquery per row), so a filter matching thousands
// copies no body into the sort (at 100k entities an owner's page spent
// most of its time there) and stitches no relations on with a second
// statement. withTotal, it also counts the matches (before the cursor
// and offset), and returns their number (-1 when it read no row to say,
// and always without it): the sort then reads every match, not the
// first of them, so only for a filter known to match few.
func (s *SQL) sortedPage(ctx context.Context, qu Query, order []Order, pos *Position, backwards bool, hidden *HiddenAt, withTotal bool) ([]positioned, int, error) {
	q := s.builder()
	q.add("SELECT * FROM (SELECT e.id, e.uid")
	for i, o := range order {
		q.add(", ")
		sortExpr(&q, o.Field)
		q.add(fmt.Sprintf(" AS o%d", i))
	}
	if withTotal {
		q.add(", COUNT(*) OVER () AS total")
	}
	q.add(" FROM entities e WHERE ")
	s.whereRead(&q, qu, hidden)
	q.add(") t")
	if pos != nil {
		// (o0 > v0) OR (o0 = v0 AND o1 > v1) OR ... OR (all equal AND uid > u)
		q.add(" WHERE (")
		for i := 0; i <= len(order); i++ {
			if i > 0 {
				q.add(" OR ")
			}
			q.add("(1=1")
			for j := 0; j < i; j++ {
				q.add(fmt.Sprintf(" AND o%d = ?", j), pos.Values[j])
			}
			if i < len(order) {
				q.add(fmt.Sprintf(" AND o%d %s ?", i, cmpOp(order[i].Desc, backwards)), pos.Values[i])
			} else {
				q.add(" AND uid "+cmpOp(false, backwards)+" ?", pos.UID)
			}
			q.add(")")
		}
		q.add(")")
	}
	orderBy := func(table string) string {
		var b strings.Builder
		b.WriteString(" ORDER BY ")
		for i, o := range order {
			fmt.Fprintf(&b, "%so%d %s, ", table, i, dir(o.Desc != backwards))
		}
		b.WriteString(table + "uid " + dir(backwards))
		return b.String()
	}
	q.add(orderBy(""))
	q.limit(qu.Limit + 1)
	if pos == nil && qu.Offset > 0 {
		q.add(" OFFSET ?", qu.Offset)
	}
	paged := q.b.String()
	q.b.Reset()
	q.add("SELECT " + s.cols)
	for i := range order {
		q.add(fmt.Sprintf(", p.o%d", i))
	}
	if withTotal {
		q.add(", p.total")
	}
	q.add(", " + s.relationsCol("e.ref") + ", " + s.generationCol() + " FROM (" + paged + ") p JOIN entities e ON e.id = p.id" + orderBy("p."))
	rows, done, err := s.queryPlanned(ctx, qu.genericFor(hidden), &s.generic.pages, q.b.String(), q.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("query entities: %w", err)
	}
	defer done()
	defer rows.Close()
	var got []positioned
	scratch := make([]string, len(order))
	ptrs := make([]any, len(order), len(order)+3)
	for i := range scratch {
		ptrs[i] = &scratch[i]
	}
	total := int64(-1)
	if withTotal {
		ptrs = append(ptrs, &total)
	}
	var rels string
	var gen int64
	ptrs = append(ptrs, &rels, &gen)
	scan := s.newEntityScan(ptrs...)
	for rows.Next() {
		e, err := scan.scan(rows)
		if err != nil {
			return nil, 0, err
		}
		vals := slices.Clone(scratch)
		e.Gen = gen
		if e.Relations, err = s.relationsOf(e.Ref, rels); err != nil {
			return nil, 0, err
		}
		e.ETag = ServedETag(e.Hash, e.Relations)
		got = append(got, positioned{e, Position{Values: vals, UID: e.UID}})
	}
	return got, int(total), rows.Err()
}

func dir(desc bool) string {
	if desc {
		return "DESC"
	}
	return "ASC"
}

func cmpOp(desc, backwards bool) string {
	if desc != backwards {
		return "<"
	}
	return ">"
}

// Facets implements Store: for each facet key, the values (as written) of the
// entities matching f, with counts.
func (s *SQL) Facets(ctx context.Context, f Filter, facets []string) (map[string][]FacetCount, error) {
	return s.FacetsAccess(ctx, f, nil, facets)
}

// FacetsAccess implements Store: Facets counting only the entities access
// matches (nil: all).
func (s *SQL) FacetsAccess(ctx context.Context, f Filter, access *Expr, facets []string) (map[string][]FacetCount, error) {
	out := make(map[string][]FacetCount, len(facets))
	for _, facet := range facets {
		q := s.builder()
		if typ, ok := relationType(facet); ok {
			// The targets as written; an entity counts once per target.
			q.add("SELECT r.target_ref, COUNT(DISTINCT r.source_ref) FROM relations r WHERE r.type_lower = ? AND r.source_ref IN (SELECT e.ref FROM entities e WHERE ", typ)
			where(&q, f, access, "", nil)
			q.add(")")
			if !access.IsTrue() {
				// A target access does not admit is not named, as an
				// entity's relations leave it out (catalogsvc's
				// pruneRelations): a group's relations.ownerOf facet
				// lists no sensitive entity it owns.
				q.add(" AND NOT EXISTS (SELECT 1 FROM entities e WHERE e.ref = r.target_lower AND ")
				notAdmitted(&q, access, true)
				q.add(")")
			}
			q.add(" GROUP BY r.target_ref ORDER BY COUNT(DISTINCT r.source_ref) DESC, r.target_ref")
		} else if key := strings.ToLower(facet); columnRow(key) {
			// As written: a namespace is lower-case, a uid the catalog's.
			col := columnFor(key)
			q.add("SELECT " + col + ", COUNT(*) FROM entities e WHERE ")
			where(&q, f, access, "", nil)
			q.add(" GROUP BY " + col + " ORDER BY COUNT(*) DESC, " + col)
		} else {
			// original is NULL where it equals value (see writeRows).
			q.add("SELECT COALESCE(s.original, s.value), COUNT(DISTINCT s.entity_id) FROM search s WHERE s.key = ? AND s.entity_id IN (SELECT e.id FROM entities e WHERE ", strings.ToLower(facet))
			where(&q, f, access, "", nil)
			q.add(") GROUP BY COALESCE(s.original, s.value) ORDER BY COUNT(DISTINCT s.entity_id) DESC, COALESCE(s.original, s.value)")
		}
		rows, err := s.db.QueryContext(ctx, s.q(q.b.String()), q.args...)
		if err != nil {
			return nil, fmt.Errorf("facet %s: %w", facet, err)
		}
		list := []FacetCount{}
		for rows.Next() {
			var fc FacetCount
			if err := rows.Scan(&fc.Value, &fc.Count); err != nil {
				rows.Close()
				return nil, err
			}
			list = append(list, fc)
		}
		rows.Close()
		out[facet] = list
	}
	return out, nil
}

// scanOne runs a one-row query (cached like cachedQuery) into dest.
func (s *SQL) scanOne(ctx context.Context, query string, args []any, dest ...any) error {
	return s.scanOnePlanned(ctx, "", nil, query, args, dest...)
}

// scanOnePlanned is scanOne, on generic plans for the filter of key
// (queryPlanned).
func (s *SQL) scanOnePlanned(ctx context.Context, key string, runs *atomic.Int64, query string, args []any, dest ...any) error {
	rows, done, err := s.queryPlanned(ctx, key, runs, query, args...)
	if err != nil {
		return err
	}
	defer done()
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}
