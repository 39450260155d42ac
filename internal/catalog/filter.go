package catalog

import (
	"fmt"
	"strings"

	"github.com/riggerdev/rigger/internal/store"
)

// ParseFilter parses Backstage's filter query parameters: each parameter is
// one alternative (OR); within it, comma-separated conditions are AND'ed;
// `key=value` compares case-insensitively, `key` alone means the key exists,
// and a key repeated within one parameter matches any of its values.
func ParseFilter(params []string) (store.Filter, error) {
	var f store.Filter
	for _, p := range params {
		var all []store.Cond
		index := map[string]int{}
		for _, part := range strings.Split(p, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			key, value, hasValue := strings.Cut(part, "=")
			key = strings.ToLower(strings.TrimSpace(key))
			if key == "" {
				return nil, fmt.Errorf("invalid filter %q: a condition has no key", p)
			}
			if len(key) > 200 {
				return nil, fmt.Errorf("invalid filter %q: key is longer than 200 characters", p)
			}
			i, seen := index[key]
			if !seen {
				index[key] = len(all)
				all = append(all, store.Cond{Key: key})
				i = len(all) - 1
			}
			if hasValue {
				all[i].Values = append(all[i].Values, strings.ToLower(strings.TrimSpace(value)))
			}
		}
		if len(all) > 0 {
			f = append(f, all)
		}
	}
	return f, nil
}

// ApplyFields keeps only the given dotted paths of an entity (Backstage's
// `fields` parameter); no fields returns it unchanged.
func ApplyFields(e map[string]any, fields []string) map[string]any {
	if len(fields) == 0 {
		return e
	}
	out := map[string]any{}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		copyPath(e, out, strings.Split(f, "."))
	}
	return out
}

func copyPath(src, dst map[string]any, path []string) {
	v, ok := src[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		dst[path[0]] = v
		return
	}
	sub, ok := v.(map[string]any)
	if !ok {
		return
	}
	d, existed := dst[path[0]].(map[string]any)
	if !existed {
		d = map[string]any{}
	}
	copyPath(sub, d, path[1:])
	if !existed && len(d) > 0 {
		dst[path[0]] = d
	}
}
