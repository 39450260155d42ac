package templates

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// How secret-derived values are tracked.
//
// Inside an action, expressions see real secret values (fetch:template
// renders a skeleton with the step's values, which may hold a secret). A
// filter, method or concatenation applied to a value that holds a secret,
// or a value derived from one, gives a derived value: `lower`, `reverse`,
// `replace`, `truncate`, `b64encode` of a secret no longer contains it, so
// redacting the exact value would miss it. A Taint records those values
// (every string of at least minDerived bytes in the result) so that what
// leaves the worker is redacted of them too. A rendering without a Taint
// (the workflow side, which only sees secret references) pays nothing.

// minDerived is the shortest derived string recorded: shorter ones (a
// secret's first letter, its length) would redact ordinary text.
const minDerived = 4

// maxDerived bounds the values one Taint records; a rendering that derives
// more fails rather than leak. Every filter over a value is checked
// against all of them, so the bound is also a bound on that cost.
const maxDerived = 1000

var errTooManyDerived = fmt.Errorf("%w: more than %d values derived from secrets", ErrLimit, maxDerived)

// Taint holds a task's secret values and the values rendered from them. It
// is safe for concurrent use.
type Taint struct {
	mu      sync.Mutex
	secrets map[string]string
	known   []string // secret values and derived values: what taints
	derived map[string]bool
	added   []string // derived values recorded since NewTaint
	lines   []string // lines of multi-line secrets (see secretLines)
	repl    *strings.Replacer
}

// NewTaint starts tracking the given secrets; derived are values an
// earlier step derived from them.
func NewTaint(secrets map[string]string, derived []string) *Taint {
	t := &Taint{secrets: secrets, derived: map[string]bool{}}
	for _, v := range secrets {
		if v != "" {
			t.known = append(t.known, v)
		}
	}
	t.lines = secretLines(t.known)
	for _, d := range derived {
		if len(d) >= minDerived && !t.derived[d] {
			t.derived[d] = true
			t.known = append(t.known, d)
		}
	}
	return t
}

type taintKey struct{}

// ContextWithTaint returns ctx carrying t: a Budget made from it
// (Renderer.NewBudget) records into t what its renderings derive from
// secrets.
func ContextWithTaint(ctx context.Context, t *Taint) context.Context {
	return context.WithValue(ctx, taintKey{}, t)
}

// TaintFrom returns the Taint ctx carries, or nil.
func TaintFrom(ctx context.Context) *Taint {
	t, _ := ctx.Value(taintKey{}).(*Taint)
	return t
}

// Added lists, sorted, the values derived from secrets since NewTaint.
func (t *Taint) Added() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Sorted(slices.Values(t.added))
}

// active tells whether there is anything to track.
func (t *Taint) active() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.known) > 0
}

// touches tells whether v holds a secret or a derived value in some string.
func (t *Taint) touches(v any) bool {
	t.mu.Lock()
	known := t.known
	t.mu.Unlock()
	return holds(v, known)
}

func holds(v any, known []string) bool {
	switch x := v.(type) {
	case string:
		for _, k := range known {
			if strings.Contains(x, k) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holds(e, known) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if holds(k, known) || holds(e, known) {
				return true
			}
		}
	}
	return false
}

// record adds the strings of v as derived values; it fails when there are
// too many to track.
func (t *Taint) record(v any) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var err error
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			if len(x) < minDerived || t.derived[x] {
				return
			}
			if len(t.derived) >= maxDerived {
				err = errTooManyDerived
				return
			}
			t.derived[x] = true
			t.known = append(t.known, x)
			t.added = append(t.added, x)
			t.repl = nil
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				walk(k)
				walk(e)
			}
		}
	}
	walk(v)
	return err
}

// Redact replaces in s every secret value, every value derived from one,
// and their URL, base64 and JSON encodings, with "***".
func (t *Taint) Redact(s string) string {
	if t == nil {
		return s
	}
	t.mu.Lock()
	if t.repl == nil {
		vals := redactionForms(append(slices.Clone(t.known), t.lines...))
		pairs := make([]string, 0, 2*len(vals))
		for _, v := range vals {
			pairs = append(pairs, v, Redacted)
		}
		t.repl = strings.NewReplacer(pairs...)
	}
	r := t.repl
	t.mu.Unlock()
	return r.Replace(s)
}

// RedactValue returns a copy of v (JSON-shaped) with Redact applied to
// every string in it, map keys included.
func (t *Taint) RedactValue(v any) any {
	if t == nil {
		return v
	}
	switch x := v.(type) {
	case string:
		return t.Redact(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = t.RedactValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[t.Redact(k)] = t.RedactValue(e)
		}
		return out
	}
	return v
}
