package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// SearchRow is one flattened (key, value) pair; Value is lower-cased, Original
// keeps the case as written (for facets).
type SearchRow struct {
	Key, Value, Original string
}

// Search row limits, as in Backstage: longer keys are skipped, longer values
// are indexed for existence only.
const (
	maxSearchKey   = 200
	maxSearchValue = 200
)

// SearchRows flattens e into the rows a store indexes: dotted lower-cased
// keys, array items under their array's key, plus relations.<type> = target
// for the given edges whose source is e.
func SearchRows(e Entity, edges []Edge) []SearchRow {
	var rows []SearchRow
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				walk(joinKey(prefix, k), t[k])
			}
		case []any:
			for _, item := range t {
				walk(prefix, item)
			}
		default:
			if len(prefix) > maxSearchKey {
				return
			}
			var s string
			switch t := t.(type) {
			case nil:
				s = ""
			case string:
				s = t
			default:
				s = fmt.Sprint(t)
			}
			if len(s) > maxSearchValue {
				s = ""
			}
			rows = append(rows, SearchRow{Key: strings.ToLower(prefix), Value: strings.ToLower(s), Original: s})
		}
	}
	for _, k := range sortedKeys(e) {
		if k == "relations" || k == "status" {
			continue
		}
		walk(k, e[k])
	}
	self := strings.ToLower(e.Ref().String())
	for _, ed := range edges {
		if strings.ToLower(ed.Source) == self {
			rows = append(rows, SearchRow{Key: "relations." + strings.ToLower(ed.Type), Value: strings.ToLower(ed.Target), Original: ed.Target})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return rows
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}
