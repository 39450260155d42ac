package mcpserver

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/riggerdev/rigger/internal/audit"
)

// redacted replaces a secret in an audit event's arguments.
const redacted = "[redacted]"

// secretNames are argument keys whose values are always redacted.
var secretNames = []string{"secrets", "secret", "password", "token", "apikey", "api_key", "privatekey", "credentials"}

// redactedArguments is a tool's arguments as audit details: JSON with the
// values of secret keys, the template's secret parameters under values
// (masked by values, when not nil) and URLs' credentials and queries
// (audit.RedactURL) replaced. hidden pairs each string taken out with
// what replaced it, for redactText.
func redactedArguments(raw json.RawMessage, values func(map[string]any) map[string]any) (_ string, hidden []string) {
	if len(raw) == 0 {
		return "{}", nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "(not JSON)", nil
	}
	r := redactor{}
	if m, ok := v.(map[string]any); ok && values != nil {
		if vals, ok := m["values"].(map[string]any); ok {
			masked := values(vals)
			r.hideMasked(vals, masked)
			m["values"] = masked
		}
	}
	b, _ := json.Marshal(r.redact(v))
	return string(b), r.hidden
}

// redactor collects the strings it takes out.
type redactor struct{ hidden []string }

// minHidden is the shortest secret redactText looks for in free text:
// shorter ones would mangle the text and say little.
const minHidden = 4

func (r *redactor) hide(old, repl string) {
	if len(old) >= minHidden && old != repl {
		r.hidden = append(r.hidden, old, repl)
	}
}

// hideAll hides every string inside v.
func (r *redactor) hideAll(v any) {
	switch t := v.(type) {
	case string:
		r.hide(t, redacted)
	case map[string]any:
		for _, x := range t {
			r.hideAll(x)
		}
	case []any:
		for _, x := range t {
			r.hideAll(x)
		}
	}
}

// hideMasked hides what masking orig gave masked took out.
func (r *redactor) hideMasked(orig, masked map[string]any) {
	for k, o := range orig {
		switch m := masked[k].(type) {
		case string:
			if m == redacted {
				r.hideAll(o)
			}
		case map[string]any:
			if om, ok := o.(map[string]any); ok {
				r.hideMasked(om, m)
			}
		}
	}
}

func (r *redactor) redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if slices.Contains(secretNames, strings.ToLower(k)) {
				r.hideAll(x)
				t[k] = redacted
				continue
			}
			t[k] = r.redact(x)
		}
	case []any:
		for i := range t {
			t[i] = r.redact(t[i])
		}
	case string:
		u := audit.RedactURL(t)
		if u != t {
			r.hide(t, u)
			// The parts taken out may be quoted alone in an error.
			if p, err := url.Parse(t); err == nil {
				if pw, ok := p.User.Password(); ok {
					r.hide(pw, redacted)
				}
				for _, vs := range p.Query() {
					for _, v := range vs {
						r.hide(v, redacted)
					}
				}
			}
		}
		return u
	}
	return v
}

// redactText is an error's text as an audit event's reason: every hidden
// string (redactedArguments) replaced, and every URL in it stripped of
// credentials and query (audit.RedactURL).
func redactText(s string, hidden []string) string {
	if len(hidden) > 0 {
		s = strings.NewReplacer(hidden...).Replace(s)
	}
	if !strings.Contains(s, "://") {
		return s
	}
	words := strings.Fields(s)
	for _, w := range words {
		if !strings.Contains(w, "://") {
			continue
		}
		u := strings.Trim(w, "\"'`()[]<>,;")
		if i := strings.Index(u, "://"); i > 0 {
			// From the scheme on: "url=https://..." keeps its prefix.
			j := strings.LastIndexFunc(u[:i], func(r rune) bool { return !isSchemeRune(r) })
			u = u[j+1:]
		}
		if red := audit.RedactURL(u); red != u {
			s = strings.Replace(s, u, red, 1)
		}
	}
	return s
}

func isSchemeRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'
}
