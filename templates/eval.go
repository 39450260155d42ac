package templates

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrLimit is wrapped by every error caused by a sandbox limit (output size,
// evaluation time, loop iterations, input size). Callers can tell a template
// that is too expensive from one that is wrong with errors.Is.
var ErrLimit = errors.New("template limit exceeded")

// evalError is an evaluation error at a byte offset of the template source.
type evalError struct {
	pos int
	err error
}

func (e *evalError) Error() string { return e.err.Error() }
func (e *evalError) Unwrap() error { return e.err }

// budget is what one Render call may spend, shared by every string it
// renders.
type budget struct {
	deadline   time.Time
	now        func() time.Time
	outLeft    int // output bytes left
	iterLeft   int // loop iterations left
	maxString  int // largest string a single operation may build
	maxItems   int // largest array a single operation may build
	steps      int
	checkEvery int
	// done and ctxErr are the context of the work this budget pays for
	// (nil without one): rendering stops when it ends.
	done   <-chan struct{}
	ctxErr func() error
	// taint, when set, records values derived from secrets.
	taint *Taint
}

// step counts one unit of evaluation work and checks the clock and the
// context now and then.
func (b *budget) step() error {
	b.steps++
	if b.steps%b.checkEvery == 0 {
		return b.checkTime()
	}
	return nil
}

// checkTime checks the clock and the context unconditionally.
func (b *budget) checkTime() error {
	if b.done != nil {
		select {
		case <-b.done:
			return fmt.Errorf("%w: rendering stopped: %v", ErrLimit, b.ctxErr())
		default:
		}
	}
	if b.now().After(b.deadline) {
		return fmt.Errorf("%w: evaluation took longer than the time limit", ErrLimit)
	}
	return nil
}

func (b *budget) checkString(n int) error {
	if n > b.maxString {
		return fmt.Errorf("%w: a string of %d bytes is larger than the output limit of %d bytes", ErrLimit, n, b.maxString)
	}
	return nil
}

func (b *budget) checkItems(n int) error {
	if n > b.maxItems {
		return fmt.Errorf("%w: an array of %d items is larger than the limit of %d", ErrLimit, n, b.maxItems)
	}
	return nil
}

// checkWeight bounds values built by array and object literals and
// concat(). Those are the only operations that can put one value into a
// new value twice ([a, a]); without this bound, repeating them in a loop
// would build a value whose text form doubles with every iteration.
func (b *budget) checkWeight(v any) error {
	if w := weight(v, b.maxString); w > b.maxString {
		return fmt.Errorf("%w: an array or object of more than %d bytes", ErrLimit, b.maxString)
	}
	return nil
}

// weight estimates the size of v's text form, string bytes plus one per
// value; it stops counting once past limit, so it costs at most O(limit).
func weight(v any, limit int) int {
	w := 0
	var walk func(v any) bool
	walk = func(v any) bool {
		w++
		switch x := v.(type) {
		case string:
			w += len(x)
		case []any:
			for _, e := range x {
				if !walk(e) {
					return false
				}
			}
		case map[string]any:
			for k, e := range x {
				w += len(k)
				if !walk(e) {
					return false
				}
			}
		}
		return w <= limit
	}
	walk(v)
	return w
}

// evaluator evaluates expressions against variables.
type evaluator struct {
	b *budget
	// lookup returns a variable and whether it is derived from a secret
	// (a loop or set variable made from one).
	lookup func(name string) (v any, tainted bool)
	// hit tells, with a Taint, whether the value of the expression being
	// evaluated is derived from a secret: it read a secret or a derived
	// value, indexed one, or used a variable made from one. It is kept
	// per subexpression (eval saves and restores it), so an operation
	// knows whether its own operands were.
	hit bool
}

// derive records out as derived from secrets when the operands of the
// operation that made it are (e.hit) or hold a secret or a derived value.
func (e *evaluator) derive(out any, inputs ...any) error {
	if e.b.taint == nil {
		return nil
	}
	if !e.hit {
		for _, in := range inputs {
			if e.b.taint.touches(in) {
				e.hit = true
				break
			}
		}
	}
	if e.hit {
		return e.b.taint.record(out)
	}
	return nil
}

// touchString marks the expression as derived from a secret when s holds
// a secret or a derived value.
func (e *evaluator) touchString(s string) {
	if !e.hit && e.b.taint.touches(s) {
		e.hit = true
	}
}

func (e *evaluator) fail(n expr, format string, args ...any) error {
	return &evalError{pos: n.position(), err: fmt.Errorf(format, args...)}
}

// wrap attaches a position to an error that has none yet.
func (e *evaluator) wrap(n expr, err error) error {
	var ee *evalError
	if errors.As(err, &ee) {
		return err
	}
	return &evalError{pos: n.position(), err: err}
}

func (e *evaluator) eval(n expr) (any, error) {
	if err := e.b.step(); err != nil {
		return nil, &evalError{pos: n.position(), err: err}
	}
	if e.b.taint == nil {
		return e.evalNode(n)
	}
	outer := e.hit
	e.hit = false
	v, err := e.evalNode(n)
	if _, isBool := v.(bool); isBool {
		// One bit (a comparison, a test): printing true or false
		// must not redact every true and false of the task's logs.
		e.hit = false
	}
	e.hit = outer || e.hit
	return v, err
}

func (e *evaluator) evalNode(n expr) (any, error) {
	switch x := n.(type) {
	case *litExpr:
		return x.val, nil
	case *nameExpr:
		v, tainted := e.lookup(x.name)
		if tainted {
			e.hit = true
		}
		return v, nil
	case *attrExpr:
		obj, err := e.eval(x.obj)
		if err != nil {
			return nil, err
		}
		key, err := e.eval(x.key)
		if err != nil {
			return nil, err
		}
		v := member(obj, key)
		if e.b.taint != nil {
			// A character of a secret, or a secret read from a map.
			if o, ok := obj.(string); ok {
				e.touchString(o)
			} else if sv, ok := v.(string); ok {
				e.touchString(sv)
			}
		}
		return v, nil
	case *callExpr:
		return e.call(x)
	case *filterExpr:
		in, err := e.eval(x.input)
		if err != nil {
			return nil, err
		}
		args, err := e.evalAll(x.args)
		if err != nil {
			return nil, err
		}
		out, err := filterFunc(x.name)(e, in, args)
		if err != nil {
			return nil, e.wrap(x, fmt.Errorf("filter %s: %w", x.name, err))
		}
		// A filter may do much work in one step (sort, replace, ...).
		if err := e.b.checkTime(); err != nil {
			return nil, e.wrap(x, err)
		}
		if e.b.taint != nil {
			if err := e.derive(out, in, args); err != nil {
				return nil, e.wrap(x, err)
			}
		}
		return out, nil
	case *unaryExpr:
		v, err := e.eval(x.x)
		if err != nil {
			return nil, err
		}
		switch x.op {
		case "not":
			return !truthy(v), nil
		case "-":
			return -toNumber(v), nil
		default:
			return toNumber(v), nil
		}
	case *binaryExpr:
		return e.binary(x)
	case *testExpr:
		v, err := e.eval(x.x)
		if err != nil {
			return nil, err
		}
		args, err := e.evalAll(x.args)
		if err != nil {
			return nil, err
		}
		ok, err := testFunc(x.name)(v, args)
		if err != nil {
			return nil, e.wrap(x, fmt.Errorf("test %s: %w", x.name, err))
		}
		return ok != x.negate, nil
	case *condExpr:
		c, err := e.eval(x.cond)
		if err != nil {
			return nil, err
		}
		// The branch taken is not itself derived from the condition.
		e.hit = false
		if truthy(c) {
			return e.eval(x.then)
		}
		if x.els == nil {
			return "", nil
		}
		return e.eval(x.els)
	case *listExpr:
		items, err := e.evalAll(x.items)
		if err != nil {
			return nil, err
		}
		if err := e.b.checkWeight(items); err != nil {
			return nil, e.wrap(x, err)
		}
		return items, nil
	case *dictExpr:
		m := make(map[string]any, len(x.keys))
		for i := range x.keys {
			k, err := e.eval(x.keys[i])
			if err != nil {
				return nil, err
			}
			v, err := e.eval(x.vals[i])
			if err != nil {
				return nil, err
			}
			m[jsString(k)] = v
		}
		if err := e.b.checkWeight(m); err != nil {
			return nil, e.wrap(x, err)
		}
		return m, nil
	}
	return nil, e.fail(n, "unsupported expression")
}

func (e *evaluator) evalAll(list []expr) ([]any, error) {
	out := make([]any, len(list))
	for i, a := range list {
		v, err := e.eval(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func (e *evaluator) binary(x *binaryExpr) (any, error) {
	l, err := e.eval(x.l)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return e.eval(x.r)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return e.eval(x.r)
	}
	r, err := e.eval(x.r)
	if err != nil {
		return nil, err
	}
	switch x.op {
	case "+":
		pl, pr := toPrimitive(l), toPrimitive(r)
		_, ls := pl.(string)
		_, rs := pr.(string)
		if ls || rs {
			return e.concat(x, jsString(pl), jsString(pr))
		}
		return toNumber(pl) + toNumber(pr), nil
	case "~":
		return e.concat(x, jsString(l), jsString(r))
	case "-":
		return toNumber(l) - toNumber(r), nil
	case "*":
		return toNumber(l) * toNumber(r), nil
	case "/":
		return toNumber(l) / toNumber(r), nil
	case "//":
		return math.Floor(toNumber(l) / toNumber(r)), nil
	case "%":
		return math.Mod(toNumber(l), toNumber(r)), nil
	case "**":
		return math.Pow(toNumber(l), toNumber(r)), nil
	case "==":
		return looseEqual(l, r), nil
	case "!=":
		return !looseEqual(l, r), nil
	case "===":
		return strictEqual(l, r), nil
	case "!==":
		return !strictEqual(l, r), nil
	case "<", ">", "<=", ">=":
		return compareValues(x.op, l, r), nil
	case "in", "not in":
		ok, err := inOperator(l, r)
		if err != nil {
			return nil, e.wrap(x, err)
		}
		return ok != (x.op == "not in"), nil
	}
	return nil, e.fail(x, "unsupported operator %q", x.op)
}

func (e *evaluator) concat(n expr, a, b string) (any, error) {
	if err := e.b.checkString(len(a) + len(b)); err != nil {
		return nil, e.wrap(n, err)
	}
	if e.b.taint != nil {
		// The sum is recorded whole: a secret cut by a later filter is
		// then cut from a recorded value.
		if err := e.derive(a+b, a, b); err != nil {
			return nil, e.wrap(n, err)
		}
	}
	return a + b, nil
}

// call evaluates fn(args): a method of a value (obj.method(args)) or a
// global function.
func (e *evaluator) call(x *callExpr) (any, error) {
	switch fn := x.fn.(type) {
	case *attrExpr:
		obj, err := e.eval(fn.obj)
		if err != nil {
			return nil, err
		}
		key, err := e.eval(fn.key)
		if err != nil {
			return nil, err
		}
		args, err := e.evalAll(x.args)
		if err != nil {
			return nil, err
		}
		name := jsString(key)
		out, err := callMethod(e.b, obj, name, args)
		if err != nil {
			return nil, e.wrap(x, fmt.Errorf("%s(): %w", name, err))
		}
		if err := e.b.checkTime(); err != nil {
			return nil, e.wrap(x, err)
		}
		if e.b.taint != nil {
			if err := e.derive(out, obj, args); err != nil {
				return nil, e.wrap(x, err)
			}
		}
		return out, nil
	case *nameExpr:
		args, err := e.evalAll(x.args)
		if err != nil {
			return nil, err
		}
		if fn.name == "range" {
			out, err := rangeGlobal(e.b, args)
			if err != nil {
				return nil, e.wrap(x, fmt.Errorf("range(): %w", err))
			}
			return out, nil
		}
		return nil, e.fail(x, "%s is not a function", fn.name)
	}
	return nil, e.fail(x, "this expression cannot be called")
}

// member is Nunjucks' memberLookup: obj[key], undefined for anything
// missing, including members of undefined.
func member(obj, key any) any {
	switch o := obj.(type) {
	case map[string]any:
		return o[jsString(key)]
	case []any:
		if s, ok := key.(string); ok {
			if s == "length" {
				return float64(len(o))
			}
			key = canonicalIndex(s)
		}
		if i, ok := arrayIndex(key, len(o)); ok {
			return o[i]
		}
	case string:
		if s, ok := key.(string); ok {
			if s == "length" {
				return float64(utf8.RuneCountInString(o))
			}
			key = canonicalIndex(s)
		}
		runes := []rune(o)
		if i, ok := arrayIndex(key, len(runes)); ok {
			return string(runes[i])
		}
	}
	return nil
}

// canonicalIndex reads "3" as the index 3, as a JavaScript property name
// that is an array index; anything else (" 3", "03", "") is no index.
func canonicalIndex(s string) any {
	n, err := strconv.Atoi(s)
	if err != nil || strconv.Itoa(n) != s {
		return nil
	}
	return float64(n)
}

// arrayIndex accepts non-negative integral numbers below n.
func arrayIndex(key any, n int) (int, bool) {
	f, ok := key.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f >= float64(n) {
		return 0, false
	}
	return int(f), true
}

// inOperator is Nunjucks' `key in container`.
func inOperator(key, container any) (bool, error) {
	switch c := container.(type) {
	case []any:
		for _, v := range c {
			if strictEqual(v, key) {
				return true, nil
			}
		}
		return false, nil
	case string:
		return strings.Contains(c, jsString(key)), nil
	case map[string]any:
		_, ok := c[jsString(key)]
		return ok, nil
	}
	return false, fmt.Errorf("cannot use \"in\" to search for %s in %s", typeName(key), typeName(container))
}

// rangeGlobal is Nunjucks' range(stop) / range(start, stop[, step]).
func rangeGlobal(b *budget, args []any) (any, error) {
	var start, stop, step float64 = 0, 0, 1
	switch len(args) {
	case 1:
		stop = toNumber(args[0])
	case 2, 3:
		start, stop = toNumber(args[0]), toNumber(args[1])
		if len(args) == 3 {
			step = toNumber(args[2])
		}
	default:
		return nil, fmt.Errorf("takes 1 to 3 arguments, got %d", len(args))
	}
	if math.IsNaN(start) || math.IsNaN(stop) || math.IsNaN(step) || step == 0 {
		return nil, fmt.Errorf("arguments must be numbers and step must not be 0")
	}
	n := math.Ceil((stop - start) / step)
	if n < 0 {
		n = 0
	}
	if n > float64(b.maxItems) {
		return nil, fmt.Errorf("%w: range of %.0f items is larger than the limit of %d", ErrLimit, n, b.maxItems)
	}
	out := make([]any, int(n))
	for i := range out {
		out[i] = start + float64(i)*step
	}
	return out, nil
}

// testFunc returns the Nunjucks test called name (x is name(args)), or nil.
func testFunc(name string) func(x any, args []any) (bool, error) {
	arg := func(args []any) (any, error) {
		if len(args) != 1 {
			return nil, fmt.Errorf("takes 1 argument, got %d", len(args))
		}
		return args[0], nil
	}
	compare := func(op string) func(any, []any) (bool, error) {
		return func(x any, args []any) (bool, error) {
			y, err := arg(args)
			if err != nil {
				return false, err
			}
			return compareValues(op, x, y), nil
		}
	}
	switch name {
	case "defined":
		return func(x any, _ []any) (bool, error) { return x != nil, nil }
	case "undefined", "null":
		return func(x any, _ []any) (bool, error) { return x == nil, nil }
	case "number":
		return func(x any, _ []any) (bool, error) { return isNumber(x), nil }
	case "string":
		return func(x any, _ []any) (bool, error) { _, ok := x.(string); return ok, nil }
	case "boolean":
		return func(x any, _ []any) (bool, error) { _, ok := x.(bool); return ok, nil }
	case "mapping":
		return func(x any, _ []any) (bool, error) { _, ok := x.(map[string]any); return ok, nil }
	case "iterable":
		return func(x any, _ []any) (bool, error) {
			switch x.(type) {
			case []any, string:
				return true, nil
			}
			return false, nil
		}
	case "callable", "escaped":
		return func(any, []any) (bool, error) { return false, nil }
	case "truthy":
		return func(x any, _ []any) (bool, error) { return truthy(x), nil }
	case "falsy":
		return func(x any, _ []any) (bool, error) { return !truthy(x), nil }
	case "odd", "even":
		want := 0.0
		if name == "odd" {
			want = 1
		}
		return func(x any, _ []any) (bool, error) {
			return math.Abs(math.Mod(toNumber(x), 2)) == want, nil
		}
	case "divisibleby":
		return func(x any, args []any) (bool, error) {
			y, err := arg(args)
			if err != nil {
				return false, err
			}
			return math.Mod(toNumber(x), toNumber(y)) == 0, nil
		}
	case "equalto", "eq", "sameas":
		return func(x any, args []any) (bool, error) {
			y, err := arg(args)
			if err != nil {
				return false, err
			}
			return strictEqual(x, y), nil
		}
	case "ne":
		return func(x any, args []any) (bool, error) {
			y, err := arg(args)
			if err != nil {
				return false, err
			}
			return !strictEqual(x, y), nil
		}
	case "lower", "upper":
		return func(x any, _ []any) (bool, error) {
			s, ok := x.(string)
			if !ok {
				return false, nil
			}
			if name == "lower" {
				return strings.ToLower(s) == s, nil
			}
			return strings.ToUpper(s) == s, nil
		}
	case "gt", "greaterthan":
		return compare(">")
	case "ge":
		return compare(">=")
	case "lt", "lessthan":
		return compare("<")
	case "le":
		return compare("<=")
	}
	return nil
}
