package catalog

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/riggerdev/rigger/internal/jsnum"
)

// SearchRow is one row of an entity's search index, as Backstage's
// `search` table holds it: Key and Value lower-cased, Original as written.
// Null is set where Backstage stores SQL NULL (a null value, or a value
// longer than MaxSearchValue); Value and Original are then empty.
type SearchRow struct {
	Key, Value, Original string
	Null                 bool
}

// Backstage's limits (buildEntitySearch): longer keys are not indexed at
// all; longer values are indexed as null, so the key still "exists".
// Lengths count UTF-16 code units, as JavaScript does.
const (
	MaxSearchKey   = 200
	MaxSearchValue = 200
)

// SearchRows is BuildSearch without the error: for entities that passed
// Validate, which rejects what BuildSearch refuses.
func SearchRows(e Entity, edges []Edge) []SearchRow {
	rows, _ := BuildSearch(e, edges)
	return rows
}

// BuildSearch flattens e into search rows exactly as Backstage's
// buildEntitySearch does:
//
//   - every leaf under a dotted key ("spec.owner", "metadata.annotations.
//     backstage.io/techdocs-ref"), except relations, status, attachments and
//     metadata.name/namespace/uid/etag;
//   - array items under their array's key, and for string items also a
//     "<key>.<item>" = "true" row, so "metadata.tags.java=true" matches;
//   - numbers and booleans as text, nulls as Null rows;
//   - metadata.name, metadata.namespace and metadata.uid always (Null when
//     missing), plus metadata.namespace = "default" when it is unset;
//   - relations.<type> = targetRef for the entity's relations list and for
//     the given edges whose Source is e.
//
// Keys and values are lower-cased; duplicates are dropped. Rows come sorted
// by key, then value. It fails, like Backstage, when two keys differ only
// in case.
func BuildSearch(e Entity, edges []Edge) ([]SearchRow, error) {
	b := searchBuilder{rows: make([]SearchRow, 0, 32)}
	b.visitMap("", e)
	md := e.Metadata()
	b.leaf("metadata.name", md["name"])
	b.leaf("metadata.namespace", md["namespace"])
	b.leaf("metadata.uid", md["uid"])
	if ns, _ := md["namespace"].(string); ns == "" {
		b.leaf("metadata.namespace", DefaultNamespace)
	}
	self := e.Ref().String()
	for _, r := range e.WireRelations() {
		b.leaf("relations."+r.Type, r.TargetRef)
	}
	for _, ed := range edges {
		if ed.Source == self {
			b.leaf("relations."+ed.Type, ed.Target)
		}
	}
	if err := b.caseClash(); err != nil {
		return nil, err
	}
	rows := b.rows
	// slices.SortFunc runs the same pattern-defeating quicksort as
	// sort.Slice (equal rows end in the same order: the first one is
	// kept) without its reflection-based swaps: a quarter of building an
	// entity's search rows, before.
	slices.SortFunc(rows, compareRows)
	n := 0
	for i, r := range rows {
		if i > 0 && r.Key == rows[n-1].Key && r.Value == rows[n-1].Value && r.Null == rows[n-1].Null {
			continue
		}
		rows[n] = r
		n++
	}
	return rows[:n], nil
}

// compareRows orders search rows by key, then value, a Null row before a
// row of the same key and value that is not.
func compareRows(a, b SearchRow) int {
	if c := strings.Compare(a.Key, b.Key); c != 0 {
		return c
	}
	if c := strings.Compare(a.Value, b.Value); c != 0 {
		return c
	}
	switch {
	case a.Null == b.Null:
		return 0
	case a.Null:
		return -1
	}
	return 1
}

type searchBuilder struct {
	rows []SearchRow
	// seenItem holds the lower-cased "<key>.<item>" keys already emitted.
	seenItem map[string]bool
	// keys holds each key as written and lower-cased, for the case-clash
	// check; mixed says some key is not written lower-case.
	keys  []keyCase
	mixed bool
	// sorting is scratch space for each map's keys, sorted.
	sorting keyScratch
}

// keyCase is a search key as written and lower-cased.
type keyCase struct{ raw, lower string }

func isSpecialKey(path string) bool {
	switch path {
	case "attachments", "relations", "status", "metadata.name", "metadata.namespace", "metadata.uid", "metadata.etag":
		return true
	}
	return false
}

// visitMap visits m's values in the order of their keys, under path.
func (b *searchBuilder) visitMap(path string, m map[string]any) {
	keys, from := b.sorting.sorted(m)
	for _, k := range keys {
		b.visit(joinKey(path, k), m[k])
	}
	b.sorting.drop(from)
}

func (b *searchBuilder) visit(path string, v any) {
	if isSpecialKey(path) {
		return
	}
	switch t := v.(type) {
	case map[string]any:
		b.visitMap(path, t)
	case []any:
		for _, item := range t {
			b.visit(path, item)
			if s, ok := item.(string); ok {
				key := path + "." + s
				if lower := strings.ToLower(key); !b.seenItem[lower] {
					if b.seenItem == nil {
						b.seenItem = make(map[string]bool, len(t))
					}
					b.seenItem[lower] = true
					b.leafLower(key, lower, true)
				}
			}
		}
	default:
		b.leaf(path, v)
	}
}

// leaf adds one row, applying Backstage's mapToRows rules.
func (b *searchBuilder) leaf(key string, v any) { b.leafLower(key, strings.ToLower(key), v) }

// leafLower is leaf with key lower-cased already.
func (b *searchBuilder) leafLower(key, lower string, v any) {
	b.keys = append(b.keys, keyCase{key, lower})
	b.mixed = b.mixed || lower != key
	if jsLen(key) > MaxSearchKey {
		return
	}
	row := SearchRow{Key: lower}
	s, ok := scalarText(v)
	if !ok || jsLen(s) > MaxSearchValue {
		row.Null = true
	} else {
		row.Original = s
		row.Value = strings.ToLower(s)
	}
	b.rows = append(b.rows, row)
}

// caseClash reports keys that are distinct as written but equal
// lower-cased, with Backstage's message. Two such keys cannot both be
// written lower-case, so only the lower-cased keys some key is written
// in another case of (usually none, or a few) are looked at.
func (b *searchBuilder) caseClash() error {
	if !b.mixed {
		return nil
	}
	// The lower-cased keys written in another case, up to fewFolded of
	// them; with more, every key goes through the map (a scan of many
	// for each of many keys would be quadratic in the entity's keys).
	const fewFolded = 8
	var mixed []string
	for _, k := range b.keys {
		if k.raw != k.lower && !contains(mixed, k.lower) {
			mixed = append(mixed, k.lower)
			if len(mixed) > fewFolded {
				break
			}
		}
	}
	first := make(map[string]string, min(len(mixed), fewFolded))
	var clash []string
	for _, k := range b.keys {
		if len(mixed) <= fewFolded && !contains(mixed, k.lower) {
			continue // a scan of a few instead of hashing every key
		}
		if f, ok := first[k.lower]; ok {
			if f != k.raw && !contains(clash, k.lower) {
				clash = append(clash, k.lower)
			}
			continue
		}
		first[k.lower] = k.raw
	}
	if len(clash) == 0 {
		return nil
	}
	sort.Strings(clash)
	return fmt.Errorf("entity has duplicate keys that vary only in casing, '%s'", strings.Join(clash, "', '"))
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// scalarText is JavaScript's String(v) for the scalars JSON holds; ok is
// false for null.
func scalarText(v any) (string, bool) {
	switch t := v.(type) {
	case nil:
		return "", false
	case string:
		return t, true
	case bool:
		return strconv.FormatBool(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case int:
		return strconv.Itoa(t), true
	case float64:
		return jsnum.Format(t), true
	default:
		// Not produced by Parse or JSON decoding; index it as text.
		return fmt.Sprint(t), true
	}
}

// jsLen is the length of s in UTF-16 code units (JavaScript's .length).
func jsLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			n = 0
			for _, r := range s {
				n += utf16.RuneLen(r)
			}
			return n
		}
	}
	return n
}
