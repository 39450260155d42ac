package templates

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// The expression syntax tree. Every node records the byte offset of its
// first token in the template source, for error messages.
type expr interface{ position() int }

type (
	// litExpr is a literal: string, number, boolean, none/null or regex.
	litExpr struct {
		pos int
		val any
	}
	// nameExpr is a variable reference.
	nameExpr struct {
		pos  int
		name string
	}
	// attrExpr is obj.key or obj[key].
	attrExpr struct {
		pos int
		obj expr
		key expr
	}
	// callExpr is fn(args): a global function or a method of a value.
	callExpr struct {
		pos  int
		fn   expr
		args []expr
	}
	// filterExpr is input | name(args).
	filterExpr struct {
		pos   int
		name  string
		input expr
		args  []expr
	}
	// unaryExpr is -x, +x or not x.
	unaryExpr struct {
		pos int
		op  string
		x   expr
	}
	// binaryExpr is l op r; op is an operator or and, or, in, not in.
	binaryExpr struct {
		pos  int
		op   string
		l, r expr
	}
	// testExpr is x is [not] name(args).
	testExpr struct {
		pos    int
		x      expr
		name   string
		args   []expr
		negate bool
	}
	// condExpr is then if cond else els; a missing else gives "".
	condExpr struct {
		pos             int
		cond, then, els expr
	}
	listExpr struct {
		pos   int
		items []expr
	}
	dictExpr struct {
		pos  int
		keys []expr
		vals []expr
	}
)

func (e *litExpr) position() int    { return e.pos }
func (e *nameExpr) position() int   { return e.pos }
func (e *attrExpr) position() int   { return e.pos }
func (e *callExpr) position() int   { return e.pos }
func (e *filterExpr) position() int { return e.pos }
func (e *unaryExpr) position() int  { return e.pos }
func (e *binaryExpr) position() int { return e.pos }
func (e *testExpr) position() int   { return e.pos }
func (e *condExpr) position() int   { return e.pos }
func (e *listExpr) position() int   { return e.pos }
func (e *dictExpr) position() int   { return e.pos }

// syntaxError is a parse error at a byte offset of the template source.
type syntaxError struct {
	pos int
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// exprParser is a recursive-descent parser with Nunjucks' precedence:
// inline if < or < and < not < in < is < comparison < ~ < + < - < * < / <
// // < % < ** < unary < filters < postfix (., [], call).
type exprParser struct {
	toks     []token
	i        int
	depth    int
	maxDepth int
}

func (p *exprParser) peek() token { return p.toks[p.i] }

func (p *exprParser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEnd && t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *exprParser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tokPunct && t.text == s
}

func (p *exprParser) isName(s string) bool {
	t := p.peek()
	return t.kind == tokName && t.text == s
}

func (p *exprParser) errorf(pos int, format string, args ...any) error {
	return &syntaxError{pos: pos, msg: fmt.Sprintf(format, args...)}
}

func (p *exprParser) expectPunct(s string) error {
	t := p.peek()
	if t.kind != tokPunct || t.text != s {
		return p.errorf(t.pos, "expected %q, found %s", s, describe(t))
	}
	p.next()
	return nil
}

func describe(t token) string {
	switch t.kind {
	case tokEnd:
		return fmt.Sprintf("end of expression %q", t.text)
	case tokEOF:
		return "end of input"
	case tokString:
		return "a string"
	case tokNumber:
		return "number " + t.text
	case tokRegex:
		return "a regular expression"
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *exprParser) enter(pos int) error {
	p.depth++
	if p.depth > p.maxDepth {
		return p.errorf(pos, "expression nested deeper than %d levels", p.maxDepth)
	}
	return nil
}

func (p *exprParser) leave() { p.depth-- }

// parseExpression parses one full expression.
func (p *exprParser) parseExpression() (expr, error) {
	if err := p.enter(p.peek().pos); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseInlineIf()
}

func (p *exprParser) parseInlineIf() (expr, error) {
	then, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if !p.isName("if") {
		return then, nil
	}
	pos := p.next().pos
	cond, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	var els expr
	if p.isName("else") {
		p.next()
		if els, err = p.parseExpression(); err != nil {
			return nil, err
		}
	}
	return &condExpr{pos: pos, cond: cond, then: then, els: els}, nil
}

// binaryLevel parses operand (op operand)* for one left-associative level.
func (p *exprParser) binaryLevel(operand func() (expr, error), match func() (string, bool)) (expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := match()
		if !ok {
			return l, nil
		}
		pos := p.next().pos
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: pos, op: op, l: l, r: r}
	}
}

func (p *exprParser) keyword(word string) func() (string, bool) {
	return func() (string, bool) { return word, p.isName(word) }
}

func (p *exprParser) operator(ops ...string) func() (string, bool) {
	return func() (string, bool) {
		t := p.peek()
		if t.kind != tokPunct {
			return "", false
		}
		for _, op := range ops {
			if t.text == op {
				return op, true
			}
		}
		return "", false
	}
}

func (p *exprParser) parseOr() (expr, error) {
	return p.binaryLevel(p.parseAnd, p.keyword("or"))
}

func (p *exprParser) parseAnd() (expr, error) {
	return p.binaryLevel(p.parseNot, p.keyword("and"))
}

func (p *exprParser) parseNot() (expr, error) {
	if p.isName("not") {
		pos := p.next().pos
		if err := p.enter(pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return &unaryExpr{pos: pos, op: "not", x: x}, nil
	}
	return p.parseIn()
}

func (p *exprParser) parseIn() (expr, error) {
	l, err := p.parseIs()
	if err != nil {
		return nil, err
	}
	for {
		op := ""
		switch {
		case p.isName("in"):
			op = "in"
		case p.isName("not") && p.i+1 < len(p.toks) && p.toks[p.i+1].kind == tokName && p.toks[p.i+1].text == "in":
			op = "not in"
			p.next()
		default:
			return l, nil
		}
		pos := p.next().pos
		r, err := p.parseIs()
		if err != nil {
			return nil, err
		}
		l = &binaryExpr{pos: pos, op: op, l: l, r: r}
	}
}

func (p *exprParser) parseIs() (expr, error) {
	x, err := p.parseCompare()
	if err != nil {
		return nil, err
	}
	if !p.isName("is") {
		return x, nil
	}
	pos := p.next().pos
	negate := false
	if p.isName("not") {
		p.next()
		negate = true
	}
	t := p.next()
	if t.kind != tokName {
		return nil, p.errorf(t.pos, "expected a test name after \"is\", found %s", describe(t))
	}
	name := t.text
	if name == "none" || name == "None" {
		name = "null"
	}
	if testFunc(name) == nil {
		return nil, p.errorf(t.pos, "unknown test %q", t.text)
	}
	var args []expr
	if p.isPunct("(") {
		if args, err = p.parseArgs(); err != nil {
			return nil, err
		}
	}
	return &testExpr{pos: pos, x: x, name: name, args: args, negate: negate}, nil
}

func (p *exprParser) parseCompare() (expr, error) {
	return p.binaryLevel(p.parseConcat, p.operator("==", "===", "!=", "!==", "<", ">", "<=", ">="))
}

func (p *exprParser) parseConcat() (expr, error) {
	return p.binaryLevel(p.parseAdd, p.operator("~"))
}

func (p *exprParser) parseAdd() (expr, error) {
	return p.binaryLevel(p.parseSub, p.operator("+"))
}

func (p *exprParser) parseSub() (expr, error) {
	return p.binaryLevel(p.parseMul, p.operator("-"))
}

func (p *exprParser) parseMul() (expr, error) {
	return p.binaryLevel(p.parseDiv, p.operator("*"))
}

func (p *exprParser) parseDiv() (expr, error) {
	return p.binaryLevel(p.parseFloorDiv, p.operator("/"))
}

func (p *exprParser) parseFloorDiv() (expr, error) {
	return p.binaryLevel(p.parseMod, p.operator("//"))
}

func (p *exprParser) parseMod() (expr, error) {
	return p.binaryLevel(p.parsePow, p.operator("%"))
}

func (p *exprParser) parsePow() (expr, error) {
	return p.binaryLevel(func() (expr, error) { return p.parseUnary(false) }, p.operator("**"))
}

// parseUnary parses -x, +x and a primary with its filters. As in Nunjucks,
// filters apply to the negated value: -x | abs is (-x) | abs.
func (p *exprParser) parseUnary(noFilters bool) (expr, error) {
	var node expr
	if p.isPunct("-") || p.isPunct("+") {
		t := p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		x, err := p.parseUnary(true)
		p.leave()
		if err != nil {
			return nil, err
		}
		node = &unaryExpr{pos: t.pos, op: t.text, x: x}
	} else {
		var err error
		if node, err = p.parsePrimary(); err != nil {
			return nil, err
		}
	}
	if noFilters {
		return node, nil
	}
	return p.parseFilters(node)
}

func (p *exprParser) parseFilters(node expr) (expr, error) {
	for p.isPunct("|") {
		p.next()
		t := p.next()
		if t.kind != tokName {
			return nil, p.errorf(t.pos, "expected a filter name after \"|\", found %s", describe(t))
		}
		if filterFunc(t.text) == nil {
			return nil, p.errorf(t.pos, "unknown filter %q", t.text)
		}
		f := &filterExpr{pos: t.pos, name: t.text, input: node}
		if p.isPunct("(") {
			args, err := p.parseArgs()
			if err != nil {
				return nil, err
			}
			f.args = args
		}
		node = f
	}
	return node, nil
}

// parseArgs parses ( expr, ... ); the current token is "(".
func (p *exprParser) parseArgs() ([]expr, error) {
	p.next()
	var args []expr
	for !p.isPunct(")") {
		if len(args) > 0 {
			if err := p.expectPunct(","); err != nil {
				return nil, err
			}
			if p.isPunct(")") {
				break
			}
		}
		if t := p.peek(); t.kind == tokName && p.i+1 < len(p.toks) &&
			p.toks[p.i+1].kind == tokPunct && p.toks[p.i+1].text == "=" {
			return nil, p.errorf(t.pos, "keyword argument %q is not supported", t.text)
		}
		a, err := p.parseExpression()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	p.next()
	return args, nil
}

func (p *exprParser) parsePrimary() (expr, error) {
	t := p.peek()
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	var node expr
	switch t.kind {
	case tokString:
		p.next()
		node = &litExpr{pos: t.pos, val: t.text}
	case tokNumber:
		p.next()
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.errorf(t.pos, "invalid number %q", t.text)
		}
		node = &litExpr{pos: t.pos, val: f}
	case tokRegex:
		p.next()
		re, err := compileRegex(t.text, t.flags)
		if err != nil {
			return nil, p.errorf(t.pos, "%v", err)
		}
		node = &litExpr{pos: t.pos, val: re}
	case tokName:
		p.next()
		switch t.text {
		case "true", "True":
			node = &litExpr{pos: t.pos, val: true}
		case "false", "False":
			node = &litExpr{pos: t.pos, val: false}
		case "none", "None", "null":
			node = &litExpr{pos: t.pos, val: nil}
		case "and", "or", "not", "in", "is", "if", "else":
			return nil, p.errorf(t.pos, "unexpected keyword %q", t.text)
		default:
			node = &nameExpr{pos: t.pos, name: t.text}
		}
	case tokPunct:
		var err error
		switch t.text {
		case "(":
			node, err = p.parseGroup()
		case "[":
			node, err = p.parseList()
		case "{":
			node, err = p.parseDict()
		default:
			return nil, p.errorf(t.pos, "unexpected %q", t.text)
		}
		if err != nil {
			return nil, err
		}
	default:
		return nil, p.errorf(t.pos, "expected an expression, found %s", describe(t))
	}
	return p.parsePostfix(node)
}

func (p *exprParser) parsePostfix(node expr) (expr, error) {
	for {
		t := p.peek()
		if t.kind != tokPunct {
			return node, nil
		}
		switch t.text {
		case ".":
			p.next()
			k := p.next()
			if k.kind != tokName && k.kind != tokNumber {
				return nil, p.errorf(k.pos, "expected a property name after \".\", found %s", describe(k))
			}
			node = &attrExpr{pos: k.pos, obj: node, key: &litExpr{pos: k.pos, val: k.text}}
		case "[":
			p.next()
			if p.isPunct(":") {
				return nil, p.errorf(t.pos, "slices are not supported")
			}
			key, err := p.parseExpression()
			if err != nil {
				return nil, err
			}
			if p.isPunct(":") {
				return nil, p.errorf(t.pos, "slices are not supported")
			}
			if err := p.expectPunct("]"); err != nil {
				return nil, err
			}
			node = &attrExpr{pos: t.pos, obj: node, key: key}
		case "(":
			args, err := p.parseArgs()
			if err != nil {
				return nil, err
			}
			node = &callExpr{pos: t.pos, fn: node, args: args}
		default:
			return node, nil
		}
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
	}
}

// parseGroup parses ( expr ) or a tuple ( a, b ), which becomes an array.
func (p *exprParser) parseGroup() (expr, error) {
	pos := p.next().pos
	first, err := p.parseExpression()
	if err != nil {
		return nil, err
	}
	if p.isPunct(")") {
		p.next()
		return first, nil
	}
	items := []expr{first}
	for p.isPunct(",") {
		p.next()
		if p.isPunct(")") {
			break
		}
		e, err := p.parseExpression()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	if err := p.expectPunct(")"); err != nil {
		return nil, err
	}
	return &listExpr{pos: pos, items: items}, nil
}

func (p *exprParser) parseList() (expr, error) {
	pos := p.next().pos
	l := &listExpr{pos: pos}
	for !p.isPunct("]") {
		if len(l.items) > 0 {
			if err := p.expectPunct(","); err != nil {
				return nil, err
			}
			if p.isPunct("]") {
				break
			}
		}
		e, err := p.parseExpression()
		if err != nil {
			return nil, err
		}
		l.items = append(l.items, e)
	}
	p.next()
	return l, nil
}

// parseDict parses { key: value, ... }; a bare identifier key is a string,
// as in Nunjucks.
func (p *exprParser) parseDict() (expr, error) {
	pos := p.next().pos
	d := &dictExpr{pos: pos}
	for !p.isPunct("}") {
		if len(d.keys) > 0 {
			if err := p.expectPunct(","); err != nil {
				return nil, err
			}
			if p.isPunct("}") {
				break
			}
		}
		var key expr
		if t := p.peek(); t.kind == tokName {
			p.next()
			key = &litExpr{pos: t.pos, val: t.text}
		} else {
			var err error
			if key, err = p.parsePrimary(); err != nil {
				return nil, err
			}
		}
		if err := p.expectPunct(":"); err != nil {
			return nil, err
		}
		val, err := p.parseExpression()
		if err != nil {
			return nil, err
		}
		d.keys = append(d.keys, key)
		d.vals = append(d.vals, val)
	}
	if t := p.peek(); t.kind == tokEnd {
		return nil, p.errorf(t.pos, "expected \"}\" to close an object literal, found %s", describe(t))
	}
	p.next()
	return d, nil
}

// compileRegex compiles a Nunjucks regex literal with Go's RE2 engine.
// Flags: g (replace all), i, m, s; u and y are accepted and ignored.
func compileRegex(pattern, flags string) (*regexValue, error) {
	var prefix strings.Builder
	global := false
	for _, f := range flags {
		switch f {
		case 'g':
			global = true
		case 'i', 'm', 's':
			prefix.WriteRune(f)
		}
	}
	src := pattern
	if prefix.Len() > 0 {
		src = "(?" + prefix.String() + ")" + pattern
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid regular expression r/%s/: %v", pattern, err)
	}
	return &regexValue{re: re, global: global, source: pattern, flags: flags}, nil
}

// parseExprTokens parses tokens that must hold exactly one expression
// followed by the closing delimiter.
func parseExprTokens(toks []token, maxDepth int) (expr, error) {
	p := &exprParser{toks: toks, maxDepth: maxDepth}
	e, err := p.parseExpression()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEnd && t.kind != tokEOF {
		return nil, p.errorf(t.pos, "unexpected %s after expression", describe(t))
	}
	return e, nil
}
