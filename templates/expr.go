package templates

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flosch/pongo2/v6"
)

// Limits bound what rendering may consume. Zero fields take the defaults
// of DefaultLimits. Output, time and iteration budgets apply to one call
// (one RenderValue over a whole input tree, one RenderString).
type Limits struct {
	MaxTemplateBytes   int           // longest template string accepted
	MaxExpressionBytes int           // longest single ${{ }} or {% %}
	MaxOutputBytes     int           // total text one call may produce; also the largest string built
	MaxIterations      int           // total {% for %} iterations of one call
	MaxItems           int           // largest array built by range(), split(), list, ...
	MaxDepth           int           // nesting of expressions, blocks and input values
	MaxEachItems       int           // most items a step's each may give
	Timeout            time.Duration // evaluation time of one call (or of one Budget)
	Clock              func() time.Time
}

// DefaultLimits are the limits used for zero fields.
func DefaultLimits() Limits {
	return Limits{
		MaxTemplateBytes:   1 << 20,
		MaxExpressionBytes: 16 << 10,
		MaxOutputBytes:     1 << 20,
		MaxIterations:      100_000,
		MaxItems:           100_000,
		MaxDepth:           64,
		MaxEachItems:       10_000,
		Timeout:            time.Second,
		Clock:              time.Now,
	}
}

func (l Limits) withDefaults() (Limits, error) {
	d := DefaultLimits()
	ints := []struct {
		name string
		v    *int
		def  int
	}{
		{"MaxTemplateBytes", &l.MaxTemplateBytes, d.MaxTemplateBytes},
		{"MaxExpressionBytes", &l.MaxExpressionBytes, d.MaxExpressionBytes},
		{"MaxOutputBytes", &l.MaxOutputBytes, d.MaxOutputBytes},
		{"MaxIterations", &l.MaxIterations, d.MaxIterations},
		{"MaxItems", &l.MaxItems, d.MaxItems},
		{"MaxDepth", &l.MaxDepth, d.MaxDepth},
		{"MaxEachItems", &l.MaxEachItems, d.MaxEachItems},
	}
	for _, f := range ints {
		if *f.v < 0 {
			return l, fmt.Errorf("limits: %s must not be negative", f.name)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if l.Timeout < 0 {
		return l, fmt.Errorf("limits: Timeout must not be negative")
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	if l.Clock == nil {
		l.Clock = d.Clock
	}
	return l, nil
}

// Context holds the variables an expression sees, as in Backstage:
// parameters, steps.<id>.output, user.ref, user.entity, secrets,
// each.key/each.value, values (fetch:template skeletons) and
// context.task.id. Values must be JSON-shaped (maps with string keys,
// slices, strings, numbers, booleans, nil). Expressions see null and
// undefined alike: a missing key and a nil value behave the same.
type Context struct {
	Parameters map[string]any
	Steps      map[string]map[string]any // step id → that step's output
	User       User
	Secrets    map[string]string
	Each       *Each
	Values     map[string]any
	TaskID     string
	// Budget, when set, is what this call spends: every call given the
	// same Budget shares its time, output and iterations, and stops when
	// its context ends. Without one, each call gets a fresh budget.
	Budget *Budget
}

// A Budget is the time, output and loop iterations that several calls
// share, e.g. everything one step renders (if, each and the input of
// every item), and the context whose end stops them. Build one per unit
// of work with NewBudget; it is not safe for concurrent use.
type Budget struct{ b *budget }

// NewBudget starts a budget of the renderer's limits that also ends with
// ctx: once ctx is done, every call charged to it fails with ErrLimit
// within a few hundred evaluation steps. When ctx carries a Taint
// (ContextWithTaint), the calls record into it the values they derive from
// secrets.
func (r *Renderer) NewBudget(ctx context.Context) *Budget {
	return &Budget{b: r.newBudget(ctx)}
}

func (r *Renderer) newBudget(ctx context.Context) *budget {
	b := &budget{
		deadline:   r.lim.Clock().Add(r.lim.Timeout),
		now:        r.lim.Clock,
		outLeft:    r.lim.MaxOutputBytes,
		iterLeft:   r.lim.MaxIterations,
		maxString:  r.lim.MaxOutputBytes,
		maxItems:   r.lim.MaxItems,
		checkEvery: 256,
	}
	if ctx != nil {
		b.done = ctx.Done()
		b.ctxErr = ctx.Err
		if t := TaintFrom(ctx); t != nil && t.active() {
			b.taint = t
		}
	}
	return b
}

// User is the user who runs the template.
type User struct {
	Ref    string         // e.g. user:default/jane
	Entity map[string]any // the user's catalog entity
}

// Each is the current item of a step with `each`: the array index (as a
// string) or object key, and the value.
type Each struct {
	Key   string
	Value any
}

// RenderError is an error while parsing or evaluating a template string.
// Path locates the string inside the rendered value (e.g. "values.name" or
// "files[2]"; empty for a top-level string); Line and Column locate the
// problem inside the string. Messages never contain secret values.
type RenderError struct {
	Path   string
	Line   int
	Column int
	Msg    string
	err    error
}

func (e *RenderError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap gives ErrLimit for limit errors.
func (e *RenderError) Unwrap() error { return e.err }

// Renderer renders expressions. Build one with NewRenderer and share it: it
// is safe for concurrent use and caches compiled template strings.
type Renderer struct {
	lim Limits
	mu  sync.Mutex // guards set (pongo2 marks it on every parse) and cache
	set *pongo2.TemplateSet
	// cache maps template source (and its text options) to compiled
	// program; sources up to cacheMaxSource bytes are cached, and the
	// cache is emptied when full.
	cache map[cacheKey]*program
}

const (
	cacheMaxEntries = 1024
	cacheMaxSource  = 4 << 10
)

// NewRenderer builds a Renderer with the given limits (zero fields take
// DefaultLimits).
func NewRenderer(lim Limits) (*Renderer, error) {
	l, err := lim.withDefaults()
	if err != nil {
		return nil, err
	}
	set, err := newTemplateSet()
	if err != nil {
		return nil, err
	}
	return &Renderer{lim: l, set: set, cache: make(map[cacheKey]*program)}, nil
}

// Limits reports the limits in force.
func (r *Renderer) Limits() Limits { return r.lim }

func (r *Renderer) parseLimits() parseLimits {
	return parseLimits{maxExprBytes: r.lim.MaxExpressionBytes, maxDepth: r.lim.MaxDepth}
}

// cacheKey is one parse: a source under its options.
type cacheKey struct {
	opt TextOptions
	src string
}

// compile parses src and builds its pongo2 document, using the cache.
func (r *Renderer) compile(src string, opt TextOptions) (*program, error) {
	if len(src) > r.lim.MaxTemplateBytes {
		return nil, fmt.Errorf("%w: template of %d bytes is larger than %d bytes", ErrLimit, len(src), r.lim.MaxTemplateBytes)
	}
	key := cacheKey{opt: opt, src: src}
	r.mu.Lock()
	p, ok := r.cache[key]
	r.mu.Unlock()
	if ok {
		return p, nil
	}
	lim := r.parseLimits()
	lim.text = opt
	parsed, err := parseTemplateString(src, lim)
	if err != nil {
		return nil, err
	}
	p = &program{parsed: parsed}
	var doc strings.Builder
	p.emit(&doc, parsed.nodes)
	r.mu.Lock()
	defer r.mu.Unlock()
	tpl, err := r.set.FromString(doc.String())
	if err != nil {
		return nil, fmt.Errorf("internal error: translated template does not parse: %v", err)
	}
	p.tpl = tpl
	if len(src) <= cacheMaxSource {
		if len(r.cache) >= cacheMaxEntries {
			clear(r.cache)
		}
		r.cache[key] = p
	}
	return p, nil
}

// call is one public call: its variables and its budget.
type call struct {
	r       *Renderer
	roots   map[string]any
	b       *budget
	secrets map[string]string
}

func (r *Renderer) newCall(ctx Context) (*call, error) {
	roots, err := ctx.roots(r.lim.MaxDepth)
	if err != nil {
		return nil, &RenderError{Msg: Redact(err.Error(), ctx.Secrets), err: err}
	}
	c := &call{r: r, roots: roots, secrets: ctx.Secrets}
	if ctx.Budget != nil {
		c.b = ctx.Budget.b
	} else {
		c.b = r.newBudget(context.Background()) // a call of its own: no deadline but the budget's
	}
	if err := c.b.checkTime(); err != nil {
		return nil, &RenderError{Msg: err.Error(), err: ErrLimit}
	}
	return c, nil
}

// roots builds the top-level variables.
func (c Context) roots(depth int) (map[string]any, error) {
	imp := func(what string, v any) (any, error) {
		out, err := importValue(v, depth)
		if err != nil {
			return nil, fmt.Errorf("context %s: %w", what, err)
		}
		return out, nil
	}
	params, err := imp("parameters", c.Parameters)
	if err != nil {
		return nil, err
	}
	if params == nil {
		params = map[string]any{}
	}
	steps := make(map[string]any, len(c.Steps))
	for id, out := range c.Steps {
		o, err := imp("steps."+id, out)
		if err != nil {
			return nil, err
		}
		steps[id] = map[string]any{"output": o}
	}
	entity, err := imp("user.entity", c.User.Entity)
	if err != nil {
		return nil, err
	}
	secrets := make(map[string]any, len(c.Secrets))
	for k, v := range c.Secrets {
		secrets[k] = v
	}
	roots := map[string]any{
		"parameters": params,
		"steps":      steps,
		"user":       map[string]any{"ref": c.User.Ref, "entity": entity},
		"secrets":    secrets,
	}
	if c.Each != nil {
		v, err := imp("each.value", c.Each.Value)
		if err != nil {
			return nil, err
		}
		roots["each"] = map[string]any{"key": c.Each.Key, "value": v}
	}
	if c.Values != nil {
		v, err := imp("values", c.Values)
		if err != nil {
			return nil, err
		}
		roots["values"] = v
	}
	if c.TaskID != "" {
		roots["context"] = map[string]any{"task": map[string]any{"id": c.TaskID}}
	}
	return roots, nil
}

// renderError wraps an error of the string src at path, with secret
// values removed from its message.
func (c *call) renderError(path, src string, err error) error {
	re := &RenderError{Path: path, Msg: Redact(err.Error(), c.secrets)}
	if errors.Is(err, ErrLimit) {
		re.err = ErrLimit
	}
	var se *syntaxError
	var ee *evalError
	switch {
	case errors.As(err, &se):
		re.Line, re.Column = lineCol(src, se.pos)
	case errors.As(err, &ee):
		re.Line, re.Column = lineCol(src, ee.pos)
	}
	return re
}

// hasSyntax reports whether s holds template syntax at all.
func hasSyntax(s string) bool {
	return strings.Contains(s, "${{") || strings.Contains(s, "{%") || strings.Contains(s, "{#")
}

// evalString renders one string. A string that is exactly one ${{ }}
// gives the expression's value; anything else gives text. keep is false
// when Backstage would drop the value: undefined, or empty text.
func (c *call) evalString(path, s string) (v any, keep bool, err error) {
	if !hasSyntax(s) {
		return s, s != "", nil
	}
	prog, err := c.r.compile(s, TextOptions{})
	if err != nil {
		return nil, false, c.renderError(path, s, err)
	}
	text, last, err := prog.run(c.roots, c.b)
	if err != nil {
		return nil, false, c.renderError(path, s, err)
	}
	if prog.parsed.single {
		return last, last != nil, nil
	}
	return text, text != "", nil
}

// renderValue renders strings inside v recursively.
func (c *call) renderValue(v any, path string, depth int) (any, bool, error) {
	if depth <= 0 {
		return nil, false, &RenderError{Path: path, Msg: "value nested too deeply", err: ErrLimit}
	}
	switch x := v.(type) {
	case string:
		out, keep, err := c.evalString(path, x)
		if err != nil || !keep {
			return nil, false, err
		}
		return exportValue(out), true, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			rv, keep, err := c.renderValue(x[k], joinPath(path, k), depth-1)
			if err != nil {
				return nil, false, err
			}
			if keep {
				out[k] = rv
			}
		}
		return out, true, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			rv, _, err := c.renderValue(e, path+"["+strconv.Itoa(i)+"]", depth-1)
			if err != nil {
				return nil, false, err
			}
			out[i] = rv
		}
		return out, true, nil
	case nil:
		return nil, true, nil
	}
	imp, err := importValue(v, depth)
	if err != nil {
		return nil, false, &RenderError{Path: path, Msg: err.Error()}
	}
	if imp == nil {
		return nil, true, nil
	}
	if _, isMap := imp.(map[string]any); isMap {
		return c.renderValue(imp, path, depth)
	}
	if _, isList := imp.([]any); isList {
		return c.renderValue(imp, path, depth)
	}
	return exportValue(imp), true, nil
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// RenderValue renders every string inside input (maps and lists are walked;
// keys are not rendered), as Backstage renders step inputs:
//   - a string that is exactly one ${{ expr }} becomes the expression's
//     value with its type: list, object, number (int64 when integral,
//     float64 otherwise), boolean or string;
//   - any other string with template syntax becomes text;
//   - a map entry whose value renders to undefined or to empty text is
//     dropped, as Backstage drops it; in a list it becomes nil.
//
// The result holds only JSON-shaped values. It may contain secret values
// (from ${{ secrets.x }}); use RedactValue before logging it.
func (r *Renderer) RenderValue(input any, ctx Context) (any, error) {
	c, err := r.newCall(ctx)
	if err != nil {
		return nil, err
	}
	v, keep, err := c.renderValue(input, "", r.lim.MaxDepth)
	if err != nil || !keep {
		return nil, err
	}
	return v, nil
}

// RenderString renders a template string to text, for skeleton file
// contents and names: ${{ }} prints, {% %} tags control. Values print as
// Nunjucks prints them (true/false, arrays joined with commas, undefined as
// nothing).
func (r *Renderer) RenderString(tpl string, ctx Context) (string, error) {
	return r.RenderText(tpl, ctx, TextOptions{})
}

// RenderText is RenderString with fetch:template's text options. With
// Cookiecutter, {{ }} prints and ctx.Values are named cookiecutter.
func (r *Renderer) RenderText(tpl string, ctx Context, opt TextOptions) (string, error) {
	c, err := r.newCall(ctx)
	if err != nil {
		return "", err
	}
	if opt.Cookiecutter {
		if v, ok := c.roots["values"]; ok {
			c.roots["cookiecutter"] = v
			delete(c.roots, "values")
		}
	}
	if !hasSyntax(tpl) && !(opt.Cookiecutter && strings.Contains(tpl, "{{")) {
		return tpl, nil
	}
	prog, err := r.compile(tpl, opt)
	if err != nil {
		return "", c.renderError("", tpl, err)
	}
	if prog.parsed.single {
		// Print the value rather than keep its type.
		_, last, err := prog.run(c.roots, c.b)
		if err != nil {
			return "", c.renderError("", tpl, err)
		}
		s := display(last)
		if len(s) > c.b.outLeft {
			return "", c.renderError("", tpl, fmt.Errorf("%w: output is larger than the limit", ErrLimit))
		}
		return s, nil
	}
	text, _, err := prog.run(c.roots, c.b)
	if err != nil {
		return "", c.renderError("", tpl, err)
	}
	return text, nil
}

// EvalCondition evaluates a step's (or output item's) `if` the way
// Backstage does: absent runs, a boolean is itself, a string is rendered
// and tested with JavaScript truthiness (so "false" as plain text is true,
// but ${{ false }} is false).
func (r *Renderer) EvalCondition(ifValue any, ctx Context) (bool, error) {
	switch x := ifValue.(type) {
	case nil:
		return true, nil
	case bool:
		return x, nil
	case string:
		c, err := r.newCall(ctx)
		if err != nil {
			return false, err
		}
		v, keep, err := c.evalString("if", x)
		if err != nil || !keep {
			return false, err
		}
		return truthy(v), nil
	}
	return false, &RenderError{Path: "if", Msg: fmt.Sprintf("must be a string or a boolean, got %T", ifValue)}
}

// EachItems renders a step's `each` (an expression or a literal list) and
// returns its items in order: for an array the keys are the indexes "0",
// "1", ...; for an object the keys, sorted.
func (r *Renderer) EachItems(each any, ctx Context) ([]Each, error) {
	v, err := r.RenderValue(each, ctx)
	if err != nil {
		return nil, err
	}
	n := 0
	switch x := v.(type) {
	case []any:
		n = len(x)
	case map[string]any:
		n = len(x)
	}
	if n > r.lim.MaxEachItems {
		return nil, &RenderError{Path: "each", Msg: fmt.Sprintf("%v: %d items are more than the limit of %d", ErrLimit, n, r.lim.MaxEachItems), err: ErrLimit}
	}
	switch x := v.(type) {
	case []any:
		out := make([]Each, len(x))
		for i, e := range x {
			out[i] = Each{Key: strconv.Itoa(i), Value: e}
		}
		return out, nil
	case map[string]any:
		out := make([]Each, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = append(out, Each{Key: k, Value: x[k]})
		}
		return out, nil
	}
	return nil, &RenderError{Path: "each", Msg: fmt.Sprintf("must evaluate to an array or an object, got %s", typeName(v))}
}
