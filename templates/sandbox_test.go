package templates

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock advances by step every time it is read.
type fakeClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// TestSandboxRefusals checks that templates cannot reach files, define
// code, or consume unbounded output, time, iterations or input.
func TestSandboxRefusals(t *testing.T) {
	// The iteration and output refusals must not race the time limit on a
	// busy machine: their clock does not advance.
	noClock := Limits{Clock: (&fakeClock{}).Now}
	tests := []struct {
		name    string
		src     string
		lim     Limits
		want    string // substring of the error
		isLimit bool   // errors.Is(err, ErrLimit)
	}{
		{name: "include", src: `{% include "/etc/passwd" %}`, want: `tag "include" is not allowed: templates cannot load other files`},
		{name: "import", src: `{% import "macros.njk" as m %}`, want: `tag "import" is not allowed`},
		{name: "from import", src: `{% from "macros.njk" import m %}`, want: `tag "from" is not allowed`},
		{name: "extends", src: `{% extends "base.njk" %}`, want: `tag "extends" is not allowed`},
		{name: "ssi", src: `{% ssi "/etc/passwd" %}`, want: `tag "ssi" is not allowed`},
		{name: "macro", src: `{% macro f() %}${{ f() }}{% endmacro %}`, want: `tag "macro" is not allowed`},
		{name: "block", src: `{% block x %}{% endblock %}`, want: `tag "block" is not allowed`},
		{name: "call", src: `{% call f() %}{% endcall %}`, want: `tag "call" is not allowed`},
		{name: "filter block", src: `{% filter upper %}x{% endfilter %}`, want: `tag "filter" is not allowed`},
		{name: "templatetag", src: `{% templatetag openvariable %}`, want: `tag "templatetag" is not allowed`},
		{name: "huge range", src: `{% for i in range(1000000000) %}x{% endfor %}`, want: "range of 1000000000 items", isLimit: true},
		{name: "nested loops", src: `{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}`, lim: noClock, want: "iteration", isLimit: true},
		{name: "iteration limit", src: `{% for a in range(50) %}x{% endfor %}`, lim: Limits{MaxIterations: 10}, want: "exceeds the iteration limit", isLimit: true},
		{name: "huge output", src: `{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}`, lim: noClock, want: "output is larger than the limit", isLimit: true},
		{name: "string doubling", src: `{% set s = "x" %}{% for i in range(64) %}{% set s = s ~ s %}{% endfor %}${{ s | length }}`, want: "larger than the output limit", isLimit: true},
		{name: "shared list doubling", src: `{% set a = ["xxxxxxxx"] %}{% for i in range(60) %}{% set a = [a, a] %}{% endfor %}${{ a }}`, want: "an array or object of more than", isLimit: true},
		{name: "shared object doubling", src: `{% set a = {k: "x"} %}{% for i in range(60) %}{% set a = {l: a, r: a} %}{% endfor %}${{ a | dump }}`, want: "an array or object of more than", isLimit: true},
		{name: "concat doubling", src: `{% set a = ["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"] %}{% for i in range(60) %}{% set a = a.concat(a) %}{% endfor %}${{ a }}`, want: "more than", isLimit: true},
		{name: "repeat", src: `${{ "x".repeat(100000000) }}`, want: "larger than the output limit", isLimit: true},
		{name: "padStart", src: `${{ "".padStart(1000000000) }}`, want: "larger than the output limit", isLimit: true},
		{name: "join growth", src: `${{ range(90000) | join("xxxxxxxxxxxxxxxxxxxx") }}`, want: "larger than the output limit", isLimit: true},
		{name: "indent width", src: `${{ "a\nb" | indent(100000000) }}`, want: "larger than the output limit", isLimit: true},
		{name: "long expression", src: "${{ " + strings.Repeat("a + ", 5000) + "a }}", want: "expression longer than 16384 bytes"},
		{name: "deep expression", src: "${{ " + strings.Repeat("(", 100) + "1" + strings.Repeat(")", 100) + " }}", want: "nested deeper than 64 levels"},
		{name: "deep blocks", src: strings.Repeat("{% if true %}", 100) + strings.Repeat("{% endif %}", 100), want: "blocks nested deeper than 64 levels"},
		{name: "long template", src: "${{ 1 }}" + strings.Repeat("x", 2<<20), want: "larger than 1048576 bytes", isLimit: true},
		{
			name: "time limit",
			src:  `{% for i in range(10000) %}${{ i }}{% endfor %}`,
			lim:  Limits{Timeout: 50 * time.Millisecond, Clock: (&fakeClock{step: time.Millisecond}).Now},
			want: "time limit", isLimit: true,
		},
		{name: "reserved set name", src: `{% set __rx = 1 %}`, want: `variable name "__rx" is reserved`},
		{name: "reserved loop name", src: `{% for forloop in [1] %}{% endfor %}`, want: `variable name "forloop" is reserved`},
		{name: "unterminated comment", src: `a {# b`, want: "comment is not closed"},
		{name: "unterminated raw", src: `{% raw %}x`, want: "block is not closed with {% endraw %}"},
		{name: "regex backreference", src: `${{ "aa" | replace(r/(a)\1/, "b") }}`, want: "invalid regular expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRenderer(t, tt.lim)
			start := time.Now()
			_, err := r.RenderString(tt.src, Context{})
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if err == nil {
				t.Fatalf("rendered without error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if got := errors.Is(err, ErrLimit); got != tt.isLimit {
				t.Errorf("errors.Is(err, ErrLimit) = %v, want %v (%v)", got, tt.isLimit, err)
			}
		})
	}
}

// TestSandboxNoDoubleEvaluation checks that rendered values and literal
// text are never parsed again as pongo2 or Nunjucks code, and that the
// engine's internals are not reachable from templates.
func TestSandboxNoDoubleEvaluation(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	ctx := Context{Parameters: map[string]any{
		"evil": "{% include '/etc/passwd' %}{{ 7*7 }}${{ secrets.X }}",
	}, Secrets: map[string]string{"X": "leaked"}}
	tests := []struct{ src, want string }{
		{"${{ parameters.evil }}", "{% include '/etc/passwd' %}{{ 7*7 }}${{ secrets.X }}"},
		{"{{ 7*7 }} {{ __rx.L(0) }}", "{{ 7*7 }} {{ __rx.L(0) }}"},
		{"${{ \"{% if true %}x{% endif %}\" }}", "{% if true %}x{% endif %}"},
		{"[${{ __rx }}][${{ pongo2.version }}][${{ forloop }}][${{ __rx_v }}]", "[][][][]"},
		{"{% for x in [1] %}[${{ forloop.Counter }}]{% endfor %}", "[]"},
		{"${{ '<b>&' }}", "<b>&"},
		{"{% verbatim %}${{ x }}{% endverbatim %}", "${{ x }}"},
	}
	for _, tt := range tests {
		got, err := r.RenderString(tt.src, ctx)
		if err != nil {
			t.Errorf("%s: %v", tt.src, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s\n got %q\nwant %q", tt.src, got, tt.want)
		}
	}
}

// TestSandboxBudgetSpansWholeValue checks that RenderValue's output budget
// covers the whole input tree, not each string alone.
func TestSandboxBudgetSpansWholeValue(t *testing.T) {
	r := newTestRenderer(t, Limits{MaxOutputBytes: 1000})
	input := map[string]any{}
	for _, k := range []string{"a", "b", "c"} {
		input[k] = "{% for i in range(40) %}xxxxxxxxxx{% endfor %}"
	}
	_, err := r.RenderValue(input, Context{})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want a limit error", err)
	}
	if _, err := r.RenderValue(map[string]any{"a": input["a"], "b": input["b"]}, Context{}); err != nil {
		t.Fatalf("800 bytes should fit in 1000: %v", err)
	}
}

// TestTemplateSetIsSandboxed checks the pongo2 layer on its own: the set
// refuses the dangerous tags and filters even if generated code ever used
// them, and its loader loads nothing.
func TestTemplateSetIsSandboxed(t *testing.T) {
	set, err := newTemplateSet()
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{
		`{% include "/etc/passwd" %}`,
		`{% import "x.tpl" y %}`,
		`{% extends "base.tpl" %}`,
		`{% ssi "/etc/passwd" parsed %}`,
		`{% macro m() %}{% endmacro %}`,
		`{% set x = 1 %}`,
		`{% templatetag openvariable %}`,
		`{{ x|safe }}`,
		`{{ "x"|ljust:1000000000 }}`,
	} {
		if _, err := set.FromString(src); err == nil || !strings.Contains(err.Error(), "sandbox restriction") {
			t.Errorf("%s: got %v, want a sandbox restriction", src, err)
		}
	}
	if _, err := (refusingLoader{}).Get("/etc/passwd"); err == nil {
		t.Error("the loader loaded a file")
	}
	if _, err := set.FromFile("/etc/passwd"); err == nil {
		t.Error("the set loaded a file")
	}
}
