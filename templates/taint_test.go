package templates

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

const taintSecret = "Pw d@y/9?&x-Secret"

// renderTainted renders tpl over values holding the secret, as
// fetch:template does inside an action.
func renderTainted(t *testing.T, taint *Taint, tpl string) string {
	t.Helper()
	r := newTestRenderer(t, Limits{})
	ctx := ContextWithTaint(context.Background(), taint)
	out, err := r.RenderString(tpl, Context{Values: map[string]any{"token": taintSecret, "name": "svc"}, Budget: r.NewBudget(ctx)})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTaintRecordsDerivedValues(t *testing.T) {
	for _, tpl := range []string{
		"${{ values.token | lower }}",
		"${{ values.token | upper }}",
		"${{ values.token | reverse }}",
		"${{ values.token | replace('Secret', 'public') }}",
		"${{ values.token | truncate(12) }}",
		"${{ values.token | urlencode }}",
		"${{ values.token | dump }}",
		"${{ values.token | title }}",
		"${{ (values.token ~ '!') | upper }}",
		"${{ values.token.split('/') | join('|') }}",
		"${{ values.token.toUpperCase() }}",
		"${{ values.token.slice(2) }}",
		"${{ values.token | lower | replace('-', '_') | reverse }}",
		"{% set t = values.token | lower %}pre-${{ t | upper }}",
	} {
		t.Run(tpl, func(t *testing.T) {
			taint := NewTaint(map[string]string{"token": taintSecret}, nil)
			out := renderTainted(t, taint, "file-"+tpl+".txt")
			if got := taint.Redact(out); strings.Contains(strings.ToLower(got), "secret") || strings.Contains(got, "9?&") {
				t.Fatalf("rendered %q, redacted %q: a derived value is left", out, got)
			}
			if len(taint.Added()) == 0 {
				t.Fatal("nothing recorded")
			}
		})
	}
	// Values that touch no secret are not recorded, and a rendering
	// without a Taint records nothing.
	taint := NewTaint(map[string]string{"token": taintSecret}, nil)
	out := renderTainted(t, taint, "${{ values.name | upper }}-service")
	if out != "SVC-service" || len(taint.Added()) != 0 || taint.Redact(out) != out {
		t.Fatalf("untainted rendering: %q, recorded %q", out, taint.Added())
	}
}

func TestTaintCarriesAcrossSteps(t *testing.T) {
	first := NewTaint(map[string]string{"token": taintSecret}, nil)
	out := renderTainted(t, first, "${{ values.token | lower }}")
	later := NewTaint(map[string]string{"token": taintSecret}, first.Added())
	if got := later.Redact("listing: " + out + ".txt"); got != "listing: ***.txt" {
		t.Fatalf("a later step shows %q", got)
	}
}

func TestTaintLimit(t *testing.T) {
	taint := NewTaint(map[string]string{"token": taintSecret}, nil)
	r := newTestRenderer(t, Limits{})
	ctx := ContextWithTaint(context.Background(), taint)
	_, err := r.RenderString("{% for i in range(20000) %}${{ values.token ~ i }}{% endfor %}", Context{Values: map[string]any{"token": taintSecret}, Budget: r.NewBudget(ctx)})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "derived from secrets") {
		t.Fatalf("err = %v", err)
	}
}

// The encoded forms of a secret (and of a derived value) are redacted.
func TestRedactURLAndJSONForms(t *testing.T) {
	secret := `Pw d@y/9?&x"<é>`
	jsonNoHTML := func(s string) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		q := strings.TrimSpace(b.String())
		return q[1 : len(q)-1]
	}
	jsonHTML := func(s string) string { q, _ := json.Marshal(s); return string(q[1 : len(q)-1]) }
	u, _ := url.Parse("https://example.com/" + "Pw d@y/9?&x")
	forms := map[string]string{
		"raw":             secret,
		"query escape":    url.QueryEscape(secret),
		"query %20":       strings.ReplaceAll(url.QueryEscape(secret), "+", "%20"),
		"path escape":     url.PathEscape(secret),
		"path":            (&url.URL{Path: secret}).EscapedPath(),
		"json":            jsonHTML(secret),
		"json no html":    jsonNoHTML(secret),
		"base64":          base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64 raw":      base64.RawStdEncoding.EncodeToString([]byte(secret)),
		"base64 url":      base64.URLEncoding.EncodeToString([]byte(secret)),
		"base64 url raw":  base64.RawURLEncoding.EncodeToString([]byte(secret)),
		"spaces as %20":   strings.ReplaceAll(secret, " ", "%20"),
		"spaces as plus":  strings.ReplaceAll(secret, " ", "+"),
		"in a URL":        "Get \"" + u.String() + "\": dial tcp: no such host",
		"in a parsed URL": strings.TrimPrefix(mustParse(t, "http://h/"+secret).String(), "http://h/"),
	}
	for name, text := range forms {
		t.Run(name, func(t *testing.T) {
			s := secret
			if name == "in a URL" {
				s = "Pw d@y/9?&x"
			}
			msg := "before " + text + " after"
			if got := Redact(msg, map[string]string{"k": s}); strings.Contains(got, "d@y") || strings.Contains(got, "UHcgZEB5") {
				t.Fatalf("Redact(%q) = %q", msg, got)
			}
			taint := NewTaint(map[string]string{"k": s}, nil)
			if got := taint.Redact(msg); strings.Contains(got, "d@y") || strings.Contains(got, "UHcgZEB5") {
				t.Fatalf("Taint.Redact(%q) = %q", msg, got)
			}
		})
	}
	// A derived value's encodings too.
	taint := NewTaint(map[string]string{"k": "Secret-Value"}, []string{"eulav-terces"})
	for _, text := range []string{"eulav-terces", base64.StdEncoding.EncodeToString([]byte("eulav-terces")), url.QueryEscape("eulav-terces")} {
		if got := taint.Redact("x " + text); got != "x ***" {
			t.Errorf("Redact(%q) = %q", text, got)
		}
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestTaintFollowsValues: a secret taken apart (indexed, iterated, split
// into a list) and put back together is derived from it too, and the
// whole text printed from it is recorded, however short each piece.
func TestTaintFollowsValues(t *testing.T) {
	for _, tpl := range []string{
		`${{ values.token.split("").reverse().join("") }}`,
		`${{ values.token | list | join("-") }}`,
		`${{ values.token | list }}`,
		`{% for c in values.token %}${{ c }}.{% endfor %}`,
		`{% for c in values.token.split('') %}${{ c | upper }}{% endfor %}`,
		`{% set cs = values.token | list %}{% for c in cs | reverse %}${{ c }}{% endfor %}`,
		`{% set first = values.token[0] %}${{ first }}:${{ values.token[1] }}:${{ values.token[2] }}`,
		`${{ values.token[0] }}${{ values.token[1] }}${{ values.token[2] }}${{ values.token[3] }}`,
		`${{ values.token[0] ~ values.token[1] }}-${{ values.token.charAt(2) }}`,
		`{% for k, v in {"a": values.token} %}${{ v | first }}${{ v | last }}{% endfor %}`,
	} {
		t.Run(tpl, func(t *testing.T) {
			taint := NewTaint(map[string]string{"token": taintSecret}, nil)
			out := renderTainted(t, taint, "f-"+tpl+".txt")
			if got := taint.Redact("wrote out/" + out); got != "wrote out/***" {
				t.Fatalf("rendered %q; redacted %q", out, got)
			}
			// A later step (only the record carries over) too.
			later := NewTaint(map[string]string{"token": taintSecret}, taint.Added())
			if got := later.Redact("ls: " + out); got != "ls: ***" {
				t.Fatalf("later step shows %q", got)
			}
		})
	}
	// In a long text (a file's contents) each line printed from a secret
	// is recorded, the rest is not.
	taint := NewTaint(map[string]string{"token": taintSecret}, nil)
	filler := strings.Repeat("ordinary line\n", 400)
	out := renderTainted(t, taint, filler+"key: {% for c in values.token %}${{ c }}.{% endfor %}\n"+filler)
	got := taint.Redact(out)
	if strings.Contains(got, "P.w") || !strings.Contains(got, "\n***\n") || !strings.Contains(got, "ordinary line\nordinary line\n") {
		t.Fatalf("long text redacted to %q", got[len(filler)-30:len(filler)+30])
	}
	// Iterating, indexing and splitting what holds no secret records
	// nothing, even with a condition on a secret.
	taint = NewTaint(map[string]string{"token": taintSecret}, nil)
	out = renderTainted(t, taint, `{% for c in values.name %}${{ c }}.{% endfor %}${{ values.name[0] }}${{ values.name.split("") | join("-") }}{% if values.token %}-public-${{ "yes" if values.token else "no" }}{% endif %}-${{ values.token == "x" }}-${{ values.token | length > 3 }}`)
	if out != "s.v.c.ss-v-c-public-yes-false-true" || len(taint.Added()) != 0 {
		t.Fatalf("untainted rendering: %q, recorded %q", out, taint.Added())
	}
}
