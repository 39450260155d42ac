package templates

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Redacted replaces secret values in redacted text.
const Redacted = "***"

// secretValues returns the non-empty secret values, the lines of those of
// several lines (see secretLines), and their common encodings, longest
// first (see redactionForms).
func secretValues(secrets map[string]string) []string {
	vals := make([]string, 0, len(secrets))
	for _, v := range secrets {
		vals = append(vals, v)
	}
	return redactionForms(append(vals, secretLines(vals)...))
}

// minSecretLine is the shortest line of a multi-line secret redacted on
// its own: shorter ones ("-----", "}") would redact ordinary text.
const minSecretLine = 8

// secretLines returns the lines, trimmed of surrounding space, of the
// values that have several, those of at least minSecretLine bytes: a
// multi-line secret (a PEM key) written into YAML is re-indented line by
// line, so its whole value no longer occurs.
func secretLines(values []string) []string {
	var out []string
	for _, v := range values {
		if !strings.ContainsAny(v, "\n\r") {
			continue
		}
		for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			if l = strings.TrimSpace(l); len(l) >= minSecretLine {
				out = append(out, l)
			}
		}
	}
	return out
}

// redactionForms returns the non-empty values and the forms they take
// when encoded: JSON string escaping (with and without HTML escaping), URL
// escaping as a query value, a path segment, a whole path or query as
// net/url prints it, and with spaces as %20 or +, and base64 (standard and
// URL alphabets, padded and not), and YAML's quoted forms (single-quoted
// with ' doubled; double-quoted with escapes, as Go quotes). Longest
// first, so that a value holding another is replaced whole.
func redactionForms(values []string) []string {
	vals := make([]string, 0, 12*len(values))
	seen := map[string]bool{}
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			vals = append(vals, v)
		}
	}
	for _, v := range values {
		if v == "" {
			continue
		}
		add(v)
		if q, err := json.Marshal(v); err == nil {
			add(string(q[1 : len(q)-1]))
		}
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) == nil {
			q := strings.TrimSpace(b.String())
			add(q[1 : len(q)-1])
		}
		add(strings.ReplaceAll(v, "'", "''"))
		if q := strconv.Quote(v); len(q) > 2 {
			add(q[1 : len(q)-1])
		}
		add(url.QueryEscape(v))
		add(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		add(url.PathEscape(v))
		add(strings.ReplaceAll(v, " ", "%20"))
		add(strings.ReplaceAll(v, " ", "+"))
		add((&url.URL{Path: v}).EscapedPath())
		if u, err := url.Parse("http://h/" + v); err == nil {
			add(strings.TrimPrefix(u.String(), "http://h/"))
		}
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
