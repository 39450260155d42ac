package templates

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// Redacted replaces secret values in redacted text.
const Redacted = "***"

// secretValues returns the non-empty secret values and their common
// encodings (JSON string escaping, URL escaping, base64), longest first so
// that a secret containing another is replaced whole.
func secretValues(secrets map[string]string) []string {
	vals := make([]string, 0, len(secrets))
	seen := map[string]bool{}
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	for _, v := range secrets {
		if v == "" {
			continue
		}
		add(v)
		if q, err := json.Marshal(v); err == nil {
			add(string(q[1 : len(q)-1]))
		}
		add(url.QueryEscape(v))
		add(url.PathEscape(v))
		if len(v) >= 4 {
			add(base64.StdEncoding.EncodeToString([]byte(v)))
			add(base64.RawStdEncoding.EncodeToString([]byte(v)))
			add(base64.URLEncoding.EncodeToString([]byte(v)))
			add(base64.RawURLEncoding.EncodeToString([]byte(v)))
		}
	}
	sort.Slice(vals, func(i, j int) bool {
		if len(vals[i]) != len(vals[j]) {
			return len(vals[i]) > len(vals[j])
		}
		return vals[i] < vals[j]
	})
	return vals
}

// Redact replaces every occurrence of every non-empty secret value in s
// with "***". Use it on anything derived from rendered input before it is
// logged or stored.
func Redact(s string, secrets map[string]string) string {
	vals := secretValues(secrets)
	if len(vals) == 0 {
		return s
	}
	pairs := make([]string, 0, 2*len(vals))
	for _, v := range vals {
		pairs = append(pairs, v, Redacted)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// RedactValue returns a copy of v (a JSON-shaped value, as RenderValue
// returns) with secret values replaced inside every string.
func RedactValue(v any, secrets map[string]string) any {
	if len(secretValues(secrets)) == 0 {
		return v
	}
	return redactValue(v, secrets)
}

func redactValue(v any, secrets map[string]string) any {
	switch x := v.(type) {
	case string:
		return Redact(x, secrets)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, secrets)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactValue(e, secrets)
		}
		return out
	}
	return v
}

// SecretsIn lists, sorted, the names of the secrets whose values occur in
// some string inside v. A caller that gets a non-empty list knows the value
// must be redacted before it is logged.
func SecretsIn(v any, secrets map[string]string) []string {
	var names []string
	for name, val := range secrets {
		if val != "" && containsString(v, val) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

func containsString(v any, needle string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, needle)
	case []any:
		for _, e := range x {
			if containsString(e, needle) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if containsString(e, needle) {
				return true
			}
		}
	}
	return false
}
