package catalog

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/riggerdev/rigger/internal/store"
)

// ParseFilter parses the `filter` query parameters of Backstage's catalog
// API (parseEntityFilterParams) into an OR of ANDs a store turns into SQL
// over the search rows:
//
//   - each parameter is one alternative; alternatives are OR'ed;
//   - within one, comma-separated statements are AND'ed, and empty ones
//     skipped (so an empty parameter adds nothing);
//   - "key=value" matches entities with a search row key=value, "key=" one
//     whose value is empty, and "key" alone one with any row for the key;
//   - a key given twice in one parameter matches any of its values
//     ("kind=api,kind=group");
//   - keys and values are trimmed; keys are lower-cased (search keys are);
//     values are kept as written and compared case-insensitively by
//     MatchFilter and the stores;
//   - "relations.<type>=<ref>" matches entities with that relation.
//
// A statement without a key ("=x") is an error, with Backstage's wording.
func ParseFilter(params []string) (store.Filter, error) {
	var f store.Filter
	for _, p := range params {
		var all []store.Cond
		for _, part := range strings.Split(p, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			key, value, hasValue := strings.Cut(part, "=")
			key = strings.ToLower(strings.TrimSpace(key))
			if key == "" {
				return nil, fmt.Errorf("invalid filter, '%s' is not a valid statement (expected a string on the form a=b or a= or a)", part)
			}
			i := condIndex(all, key)
			if i < 0 {
				all = append(all, store.Cond{Key: key})
				i = len(all) - 1
			}
			if hasValue {
				all[i].Values = append(all[i].Values, strings.TrimSpace(value))
			}
		}
		if len(all) > 0 {
			f = append(f, all)
		}
	}
	return f, nil
}

func condIndex(all []store.Cond, key string) int {
	for i, c := range all {
		if c.Key == key {
			return i
		}
	}
	return -1
}

// MatchFilter reports whether an entity with the given search rows
// (BuildSearch) matches f, with the semantics stores give it in SQL: an
// empty filter matches everything; a condition without values matches when
// any row has the key (even a null one); with values, when a non-null row
// has the key and one of the values, case-insensitively.
func MatchFilter(f store.Filter, rows []SearchRow) bool {
	if len(f) == 0 {
		return true
	}
	for _, all := range f {
		ok := true
		for _, c := range all {
			if !matchCond(c, rows) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func matchCond(c store.Cond, rows []SearchRow) bool {
	key := strings.ToLower(c.Key)
	for _, r := range rows {
		if r.Key != key {
			continue
		}
		if len(c.Values) == 0 {
			return true
		}
		if r.Null {
			continue
		}
		for _, v := range c.Values {
			if equalLower(r.Value, v) {
				return true
			}
		}
	}
	return false
}

// ParseFields parses `fields` query parameters (parseEntityTransformParams):
// each may hold several comma-separated dotted paths; blanks are dropped.
// Paths into arrays ("metadata.tags[0]") are not supported, as in Backstage.
func ParseFields(params []string) ([]string, error) {
	var out []string
	for _, p := range params {
		for _, f := range strings.Split(p, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if strings.Contains(f, "[") {
				return nil, fmt.Errorf("invalid fields, array type fields are not supported: %q", f)
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// ApplyFields keeps only the given dotted paths of an entity (Backstage's
// `fields` parameter, e.g. "kind,metadata.name"); no fields returns it
// unchanged. A path may name keys that contain dots
// ("metadata.annotations.backstage.io/techdocs-ref"); paths that do not
// exist are left out. (Backstage, when a path is only partly found,
// returns the deepest object it did find; rigger returns nothing for it.)
// The result shares values with e; e is not modified.
func ApplyFields(e map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return e
	}
	out := map[string]any{}
	for _, f := range fields {
		if f = strings.TrimSpace(f); f != "" {
			copyPath(e, out, f)
		}
	}
	return out
}

// copyPath copies the value at path from src into dst, creating the
// objects on the way; at each level the shortest existing key that is a
// prefix of path wins, then longer ones.
func copyPath(src, dst map[string]any, path string) bool {
	if v, ok := src[path]; ok {
		dst[path] = v
		return true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' {
			continue
		}
		key, rest := path[:i], path[i+1:]
		sub, ok := src[key].(map[string]any)
		if !ok {
			continue
		}
		d, existed := dst[key].(map[string]any)
		if existed && sameMap(d, sub) {
			return true // the whole object was already copied
		}
		if !existed {
			d = map[string]any{}
		}
		if copyPath(sub, d, rest) {
			dst[key] = d
			return true
		}
	}
	return false
}

// sameMap reports whether a and b are the same map (not merely equal).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}
