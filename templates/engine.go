package templates

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/flosch/pongo2/v6"
)

// How expressions run on pongo2.
//
// A template string is parsed with Nunjucks syntax (syntax.go) and emitted
// as a pongo2 document that uses only text, {% if %} and {% for %}; every
// Nunjucks expression becomes a call back into this package through one
// context value, __rx, whose methods take the index of a pre-parsed
// expression:
//
//	${{ e }}                 {{ __rx.O(n) }}
//	{% if e %}               {% if __rx.C(n) %}
//	{% for x in e %}         {% for __rx_v in __rx.I(k) %}{{ __rx.B(k) }}
//	{% set x = e %}          {{ __rx.S(k) }}
//	text holding {{ {% {#    {{ __rx.L(k) }}
//
// pongo2 thus provides the document structure, the execution contexts that
// scope loop and set variables, and the sandbox: a dedicated TemplateSet
// whose loader refuses every file and on which every tag but if and for is
// banned. No user text ever reaches pongo2's lexer as code, so pongo2's own
// expression syntax, filters and auto-escaping never apply to user input;
// output is marked safe and formatted as Nunjucks formats it.
//
// Bounds: pongo2 has no cancellation, so the callbacks enforce them. Each
// callback checks the deadline and the output written so far, the loop
// callback (B) runs once per iteration and counts iterations, and the
// evaluator counts steps and checks the clock every few hundred steps. A
// callback that returns an error stops pongo2 at once.

// refusingLoader is the TemplateSet's only loader: it loads nothing.
type refusingLoader struct{}

func (refusingLoader) Abs(_, name string) string { return name }

func (refusingLoader) Get(path string) (io.Reader, error) {
	return nil, fmt.Errorf("templates cannot load files (asked for %q)", path)
}

// newTemplateSet builds the sandboxed set. Bans must precede the first
// template; the emitted documents use only if and for.
func newTemplateSet() (*pongo2.TemplateSet, error) {
	set := pongo2.NewSet("rigger-expressions", refusingLoader{})
	for _, tag := range []string{
		"include", "import", "extends", "ssi", "macro", "block", "templatetag",
		"now", "lorem", "autoescape", "filter", "with", "cycle", "firstof",
		"spaceless", "ifchanged", "widthratio", "ifequal", "ifnotequal", "set",
	} {
		if err := set.BanTag(tag); err != nil {
			return nil, fmt.Errorf("sandbox: ban tag %s: %w", tag, err)
		}
	}
	for _, f := range []string{"safe", "random", "ljust", "rjust", "center", "make_list", "pluralize", "date", "time"} {
		if err := set.BanFilter(f); err != nil {
			return nil, fmt.Errorf("sandbox: ban filter %s: %w", f, err)
		}
	}
	return set, nil
}

// program is a compiled template string; it is immutable and shared.
type program struct {
	parsed *parsedTemplate
	tpl    *pongo2.Template
	exprs  []expr // outputs and conditions
	loops  []*forNode
	sets   []*setNode
	lits   []string
}

func (p *program) addExpr(e expr) int {
	p.exprs = append(p.exprs, e)
	return len(p.exprs) - 1
}

// emit writes the pongo2 document for nodes.
func (p *program) emit(b *strings.Builder, nodes []tmplNode) {
	for _, n := range nodes {
		switch x := n.(type) {
		case *textNode:
			if strings.Contains(x.text, "{{") || strings.Contains(x.text, "{%") ||
				strings.Contains(x.text, "{#") || strings.HasSuffix(x.text, "{") {
				p.lits = append(p.lits, x.text)
				fmt.Fprintf(b, "{{ __rx.L(%d) }}", len(p.lits)-1)
			} else {
				b.WriteString(x.text)
			}
		case *outputNode:
			fmt.Fprintf(b, "{{ __rx.O(%d) }}", p.addExpr(x.e))
		case *ifNode:
			for i, c := range x.conds {
				kw := "if"
				if i > 0 {
					kw = "elif"
				}
				fmt.Fprintf(b, "{%% %s __rx.C(%d) %%}", kw, p.addExpr(c))
				p.emit(b, x.bodies[i])
			}
			if x.els != nil {
				b.WriteString("{% else %}")
				p.emit(b, x.els)
			}
			b.WriteString("{% endif %}")
		case *forNode:
			p.loops = append(p.loops, x)
			k := len(p.loops) - 1
			fmt.Fprintf(b, "{%% for __rx_v in __rx.I(%d) %%}{{ __rx.B(%d) }}", k, k)
			p.emit(b, x.body)
			if len(x.els) > 0 {
				b.WriteString("{% empty %}")
				p.emit(b, x.els)
			}
			b.WriteString("{% endfor %}")
		case *setNode:
			p.sets = append(p.sets, x)
			fmt.Fprintf(b, "{{ __rx.S(%d) }}", len(p.sets)-1)
		}
	}
}

// boxed marks values that set and for put into pongo2's private context, so
// that pongo2's own entries there (forloop, pongo2) are never visible.
// tainted tells that the value is derived from a secret (with a Taint).
type boxed struct {
	v       any
	tainted bool
}

// iterItem is one iteration of a {% for %} loop.
type iterItem struct {
	index, count int
	key, value   any
	tainted      bool
}

// limitedWriter collects output up to the call's budget and remembers an
// overflow instead of failing the write (pongo2 ignores write errors).
type limitedWriter struct {
	b    *budget
	buf  strings.Builder
	over bool
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.over || len(p) > w.b.outLeft {
		w.over = true
		return len(p), nil
	}
	w.b.outLeft -= len(p)
	w.buf.Write(p)
	return len(p), nil
}

// execState is the __rx value of one execution. Its exported methods are
// the callbacks the emitted document calls.
type execState struct {
	prog  *program
	roots map[string]any
	b     *budget
	out   *limitedWriter
	err   error
	last  any
	// With a Taint: the output ranges printed from values derived from
	// secrets, and whether the single expression's value is one.
	tainted []span
	lastHit bool
}

// span is a range of output bytes.
type span struct{ from, to int }

func (s *execState) errOutput() error {
	return fmt.Errorf("%w: output is larger than the limit", ErrLimit)
}

// enter runs before every callback: it stops the execution after an error,
// an output overflow or the deadline.
func (s *execState) enter() error {
	if s.err != nil {
		return s.err
	}
	if s.out.over {
		s.err = s.errOutput()
		return s.err
	}
	if err := s.b.checkTime(); err != nil {
		s.err = err
		return err
	}
	return nil
}

func (s *execState) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return s.err
}

func (s *execState) evaluator(ctx *pongo2.ExecutionContext) *evaluator {
	return &evaluator{b: s.b, lookup: func(name string) (any, bool) {
		if bx, ok := ctx.Private[name].(*boxed); ok {
			return bx.v, bx.tainted
		}
		return s.roots[name], false
	}}
}

// eval evaluates e; hit tells (with a Taint) that its value is derived
// from a secret.
func (s *execState) eval(ctx *pongo2.ExecutionContext, e expr) (v any, hit bool, err error) {
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	ev := s.evaluator(ctx)
	v, err = ev.eval(e)
	if err != nil {
		return nil, false, s.fail(err)
	}
	return v, ev.hit, nil
}

// O prints expression n. A value derived from a secret is recorded whole
// as derived, and where it is printed is remembered (see taintedText).
func (s *execState) O(ctx *pongo2.ExecutionContext, n int) (*pongo2.Value, error) {
	v, hit, err := s.eval(ctx, s.prog.exprs[n])
	if err != nil {
		return nil, err
	}
	s.last, s.lastHit = v, hit
	if s.prog.parsed.single {
		if hit {
			// The value (a step input), and its text (a file name).
			if err := s.b.taint.record([]any{v, display(v)}); err != nil {
				return nil, s.fail(err)
			}
		}
		return pongo2.AsSafeValue(""), nil
	}
	text := display(v)
	if hit {
		if err := s.b.taint.record(text); err != nil {
			return nil, s.fail(err)
		}
		from := s.out.buf.Len()
		s.tainted = append(s.tainted, span{from, from + len(text)})
	}
	return pongo2.AsSafeValue(text), nil
}

// L prints literal text k.
func (s *execState) L(k int) *pongo2.Value {
	return pongo2.AsSafeValue(s.prog.lits[k])
}

// C evaluates condition n with JavaScript truthiness.
func (s *execState) C(ctx *pongo2.ExecutionContext, n int) (*pongo2.Value, error) {
	v, _, err := s.eval(ctx, s.prog.exprs[n])
	if err != nil {
		return nil, err
	}
	return pongo2.AsValue(truthy(v)), nil
}

// I evaluates the iterable of loop k: array items, string characters, or
// object keys (one loop variable) or key/value pairs (two), keys sorted.
// Anything else, undefined included, iterates zero times.
func (s *execState) I(ctx *pongo2.ExecutionContext, k int) (*pongo2.Value, error) {
	loop := s.prog.loops[k]
	v, hit, err := s.eval(ctx, loop.iter)
	if err != nil {
		return nil, err
	}
	var items []*iterItem
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			items = append(items, &iterItem{index: i, key: e})
			if len(loop.names) == 2 {
				if pair, ok := e.([]any); ok {
					items[i].key, items[i].value = member(pair, 0.0), member(pair, 1.0)
				}
			}
		}
	case string:
		for _, r := range x {
			items = append(items, &iterItem{index: len(items), key: string(r)})
		}
	case map[string]any:
		for _, key := range slices.Sorted(maps.Keys(x)) {
			items = append(items, &iterItem{index: len(items), key: key, value: x[key]})
		}
	}
	if len(items) > s.b.iterLeft {
		return nil, s.fail(&evalError{pos: loop.pos, err: fmt.Errorf("%w: loop over %d items exceeds the iteration limit", ErrLimit, len(items))})
	}
	for _, it := range items {
		it.count = len(items)
		// The characters of a secret, the items of a list derived from
		// one, or items that hold one are derived from it.
		if s.b.taint != nil {
			it.tainted = hit || s.b.taint.touches(it.key) || s.b.taint.touches(it.value)
		}
	}
	return pongo2.AsValue(items), nil
}

// B binds the loop variables of loop k at the start of each iteration and
// charges the iteration to the budget.
func (s *execState) B(ctx *pongo2.ExecutionContext, k int) (*pongo2.Value, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	loop := s.prog.loops[k]
	s.b.iterLeft--
	if s.b.iterLeft < 0 {
		return nil, s.fail(&evalError{pos: loop.pos, err: fmt.Errorf("%w: too many loop iterations", ErrLimit)})
	}
	pv, _ := ctx.Private["__rx_v"].(*pongo2.Value)
	var it *iterItem
	if pv != nil {
		it, _ = pv.Interface().(*iterItem)
	}
	if it == nil {
		return nil, s.fail(&evalError{pos: loop.pos, err: errors.New("internal error: loop item missing")})
	}
	ctx.Private[loop.names[0]] = &boxed{it.key, it.tainted}
	if len(loop.names) == 2 {
		ctx.Private[loop.names[1]] = &boxed{it.value, it.tainted}
	}
	ctx.Private["loop"] = &boxed{v: map[string]any{
		"index":     float64(it.index + 1),
		"index0":    float64(it.index),
		"revindex":  float64(it.count - it.index),
		"revindex0": float64(it.count - it.index - 1),
		"first":     it.index == 0,
		"last":      it.index == it.count-1,
		"length":    float64(it.count),
	}}
	return pongo2.AsSafeValue(""), nil
}

// S runs {% set %} k in the current scope.
func (s *execState) S(ctx *pongo2.ExecutionContext, k int) (*pongo2.Value, error) {
	set := s.prog.sets[k]
	v, hit, err := s.eval(ctx, set.e)
	if err != nil {
		return nil, err
	}
	ctx.Private[set.name] = &boxed{v, hit}
	return pongo2.AsSafeValue(""), nil
}

// run executes prog and returns its text output and the value of its last
// printed expression.
func (prog *program) run(roots map[string]any, b *budget) (text string, last any, err error) {
	w := &limitedWriter{b: b}
	st := &execState{prog: prog, roots: roots, b: b, out: w}
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("template engine failed: %v", p)
			}
		}()
		err = prog.tpl.ExecuteWriterUnbuffered(pongo2.Context{"__rx": st}, w)
	}()
	switch {
	case st.err != nil:
		return "", nil, st.err
	case err != nil:
		return "", nil, fmt.Errorf("template engine failed: %v", err)
	case w.over:
		return "", nil, st.errOutput()
	}
	text = w.buf.String()
	if len(st.tainted) > 0 {
		if err := b.taint.record(taintedText(text, st.tainted)); err != nil {
			return "", nil, err
		}
	}
	return text, st.last, nil
}

// maxWholeDerived is the longest rendered text recorded whole as derived
// from a secret when it prints one (a file name, a path, an input value);
// of a longer text (a file's contents), each line that prints one is.
const maxWholeDerived = 4 << 10

// taintedText returns what of text, printed with values derived from
// secrets at spans, is recorded as derived: text whole when short, else
// every line holding a span, trimmed of surrounding space.
func taintedText(text string, spans []span) []any {
	if len(text) <= maxWholeDerived {
		return []any{text}
	}
	var out []any
	lineEnd := -1
	for _, sp := range spans {
		if sp.from < lineEnd {
			continue // on the line already recorded
		}
		start := strings.LastIndexByte(text[:sp.from], '\n') + 1
		end := len(text)
		if i := strings.IndexByte(text[sp.to:], '\n'); i >= 0 {
			end = sp.to + i
		}
		lineEnd = end
		line := strings.TrimSpace(text[start:end])
		if len(line) > maxWholeDerived {
			line = text[sp.from:sp.to]
		}
		out = append(out, line)
	}
	return out
}
