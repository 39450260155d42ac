package templates

import (
	"fmt"
	"strings"
)

// A template string is text with Nunjucks syntax in it: ${{ expr }} prints,
// {% tag %} controls, {# ... #} is a comment. A "-" just inside a delimiter
// (${{- -}}, {%- -%}, {#- -#}) trims the white space on that side.
//
// Supported tags: if/elif/elseif/else/endif, for/else/endfor (one or two loop
// variables), set name = expr, raw/endraw and verbatim/endverbatim. Every
// other tag is refused; include, import, from, extends, block, macro, call
// and filter in particular, since they would load other files or define
// code.

type tmplNode interface{}

type (
	textNode struct {
		text string
	}
	outputNode struct {
		pos int
		e   expr
	}
	ifNode struct {
		pos    int
		conds  []expr
		bodies [][]tmplNode
		els    []tmplNode
	}
	forNode struct {
		pos   int
		names []string
		iter  expr
		body  []tmplNode
		els   []tmplNode
	}
	setNode struct {
		pos  int
		name string
		e    expr
	}
)

// parsedTemplate is a template string after parsing.
type parsedTemplate struct {
	src    string
	nodes  []tmplNode
	single bool // exactly one ${{ }} and nothing else: the result keeps its type
}

// parseLimits bound what the parser accepts (and carry the text options
// of skeleton files).
type parseLimits struct {
	maxExprBytes int
	maxDepth     int
	text         TextOptions
}

// TextOptions are fetch:template's options for skeleton files, as in
// Backstage (Nunjucks options).
type TextOptions struct {
	// Cookiecutter prints with {{ }} instead of ${{ }} (cookiecutterCompat;
	// the values are then named cookiecutter instead of values).
	Cookiecutter bool
	// TrimBlocks removes the first newline after a {% %} tag or comment.
	TrimBlocks bool
	// LstripBlocks removes the spaces and tabs before a {% %} tag or
	// comment that starts a line.
	LstripBlocks bool
}

// scanItem is one piece of a template string before the block structure is
// known: text, an output or a tag.
type scanItem struct {
	pos  int
	text string  // text
	toks []token // output or tag: tokens up to the closing delimiter
	tag  string  // tag name; "" for text and outputs
	out  bool    // an output ${{ }}
}

const trimSpace = " \t\r\n"

// scanTemplate splits src into text, outputs and tags, applies white space
// control and handles raw blocks and comments.
func scanTemplate(src string, lim parseLimits) ([]scanItem, error) {
	var items []scanItem
	trimNext := false
	dropNewline := false // trimBlocks: after a tag or comment
	addText := func(pos int, s string, trimRight bool) {
		if trimNext {
			s = strings.TrimLeft(s, trimSpace)
			trimNext = false
		}
		if dropNewline {
			if rest, ok := strings.CutPrefix(s, "\r\n"); ok {
				s = rest
			} else {
				s = strings.TrimPrefix(s, "\n")
			}
			dropNewline = false
		}
		if trimRight {
			s = strings.TrimRight(s, trimSpace)
		}
		if s != "" {
			items = append(items, scanItem{pos: pos, text: s})
		}
	}
	pos := 0
	for pos < len(src) {
		idx, kind := nextDelimiter(src, pos, lim.text.Cookiecutter)
		if idx < 0 {
			addText(pos, src[pos:], false)
			break
		}
		open := idx + len(kind)
		trimLeft := open < len(src) && src[open] == '-'
		if trimLeft {
			open++
		}
		textEnd := idx
		if kind != "${{" && kind != "{{" {
			if lim.text.LstripBlocks {
				// Only the white space between the line's start and the tag.
				j := idx
				for j > pos && (src[j-1] == ' ' || src[j-1] == '\t') {
					j--
				}
				if j == 0 || src[j-1] == '\n' {
					textEnd = j
				}
			}
		}
		switch kind {
		case "{#":
			end := strings.Index(src[open:], "#}")
			if end < 0 {
				return nil, &syntaxError{pos: idx, msg: "comment is not closed with \"#}\""}
			}
			end += open
			addText(pos, src[pos:textEnd], trimLeft)
			trimNext = end > open && src[end-1] == '-'
			dropNewline = lim.text.TrimBlocks
			pos = end + 2
		case "${{", "{{":
			toks, next, err := lexExpr(src, open, "}}", lim.maxExprBytes)
			if err != nil {
				return nil, &syntaxError{pos: idx, msg: err.Error()}
			}
			addText(pos, src[pos:idx], trimLeft)
			items = append(items, scanItem{pos: idx, toks: toks, out: true})
			trimNext = toks[len(toks)-1].trim
			pos = next
		case "{%":
			toks, next, err := lexExpr(src, open, "%}", lim.maxExprBytes)
			if err != nil {
				return nil, &syntaxError{pos: idx, msg: err.Error()}
			}
			if toks[0].kind != tokName {
				return nil, &syntaxError{pos: idx, msg: "expected a tag name after \"{%\""}
			}
			addText(pos, src[pos:textEnd], trimLeft)
			name := toks[0].text
			if name == "raw" || name == "verbatim" {
				if len(toks) != 2 {
					return nil, &syntaxError{pos: idx, msg: fmt.Sprintf("tag %q takes no arguments", name)}
				}
				body, after, closeTrimLeft, closeTrimRight, err := rawBody(src, next, "end"+name)
				if err != nil {
					return nil, &syntaxError{pos: idx, msg: err.Error()}
				}
				trimNext = toks[1].trim
				dropNewline = lim.text.TrimBlocks
				addText(next, body, closeTrimLeft)
				trimNext = closeTrimRight
				dropNewline = lim.text.TrimBlocks
				pos = after
				continue
			}
			items = append(items, scanItem{pos: idx, toks: toks[1:], tag: name})
			trimNext = toks[len(toks)-1].trim
			dropNewline = lim.text.TrimBlocks
			pos = next
		}
	}
	return items, nil
}

// nextDelimiter finds the next ${{ ({{ with cookiecutter), {% or {# at or
// after pos.
func nextDelimiter(src string, pos int, cookiecutter bool) (int, string) {
	for pos < len(src) {
		i := strings.IndexAny(src[pos:], "${")
		if i < 0 {
			return -1, ""
		}
		at := pos + i
		switch {
		case cookiecutter && strings.HasPrefix(src[at:], "{{"):
			return at, "{{"
		case !cookiecutter && strings.HasPrefix(src[at:], "${{"):
			return at, "${{"
		case strings.HasPrefix(src[at:], "{%"):
			return at, "{%"
		case strings.HasPrefix(src[at:], "{#"):
			return at, "{#"
		}
		pos = at + 1
	}
	return -1, ""
}

// rawBody finds the {% endname %} that closes a raw block starting at pos.
func rawBody(src string, pos int, endName string) (body string, after int, trimLeft, trimRight bool, err error) {
	for search := pos; search < len(src); {
		i := strings.Index(src[search:], "{%")
		if i < 0 {
			break
		}
		at := search + i
		j := at + 2
		tl := j < len(src) && src[j] == '-'
		if tl {
			j++
		}
		rest := strings.TrimLeft(src[j:], trimSpace)
		if strings.HasPrefix(rest, endName) {
			k := len(src) - len(rest) + len(endName)
			tail := strings.TrimLeft(src[k:], trimSpace)
			k = len(src) - len(tail)
			switch {
			case strings.HasPrefix(tail, "-%}"):
				return src[pos:at], k + 3, tl, true, nil
			case strings.HasPrefix(tail, "%}"):
				return src[pos:at], k + 2, tl, false, nil
			}
		}
		search = at + 2
	}
	return "", 0, false, false, fmt.Errorf("block is not closed with {%% %s %%}", endName)
}

// treeBuilder turns scanned items into nested nodes.
type treeBuilder struct {
	items []scanItem
	i     int
	lim   parseLimits
	depth int
}

// parseTemplateString parses a whole template string.
func parseTemplateString(src string, lim parseLimits) (*parsedTemplate, error) {
	items, err := scanTemplate(src, lim)
	if err != nil {
		return nil, err
	}
	b := &treeBuilder{items: items, lim: lim}
	nodes, end, err := b.body()
	if err != nil {
		return nil, err
	}
	if end != nil {
		return nil, &syntaxError{pos: end.pos, msg: fmt.Sprintf("unexpected {%% %s %%}", end.tag)}
	}
	pt := &parsedTemplate{src: src, nodes: nodes}
	if len(nodes) == 1 {
		_, pt.single = nodes[0].(*outputNode)
	}
	return pt, nil
}

// body parses nodes until a tag that closes or continues a block (elif,
// else, endif, endfor) and returns that tag, or nil at the end of input.
func (b *treeBuilder) body() ([]tmplNode, *scanItem, error) {
	var nodes []tmplNode
	for b.i < len(b.items) {
		it := &b.items[b.i]
		b.i++
		switch {
		case it.tag == "" && !it.out:
			nodes = append(nodes, &textNode{text: it.text})
		case it.out:
			e, err := parseExprTokens(it.toks, b.lim.maxDepth)
			if err != nil {
				return nil, nil, err
			}
			nodes = append(nodes, &outputNode{pos: it.pos, e: e})
		default:
			switch it.tag {
			case "elif", "elseif", "else", "endif", "endfor":
				return nodes, it, nil
			}
			n, err := b.tag(it)
			if err != nil {
				return nil, nil, err
			}
			if n != nil {
				nodes = append(nodes, n)
			}
		}
	}
	return nodes, nil, nil
}

func (b *treeBuilder) tag(it *scanItem) (tmplNode, error) {
	switch it.tag {
	case "if":
		return b.ifTag(it)
	case "for":
		return b.forTag(it)
	case "set":
		return b.setTag(it)
	case "include", "import", "from", "extends", "ssi":
		return nil, &syntaxError{pos: it.pos, msg: fmt.Sprintf("tag %q is not allowed: templates cannot load other files", it.tag)}
	case "block", "macro", "call", "filter", "autoescape", "templatetag", "now", "lorem", "cycle", "with":
		return nil, &syntaxError{pos: it.pos, msg: fmt.Sprintf("tag %q is not allowed", it.tag)}
	}
	return nil, &syntaxError{pos: it.pos, msg: fmt.Sprintf("unknown tag %q", it.tag)}
}

func (b *treeBuilder) enter(pos int) error {
	b.depth++
	if b.depth > b.lim.maxDepth {
		return &syntaxError{pos: pos, msg: fmt.Sprintf("blocks nested deeper than %d levels", b.lim.maxDepth)}
	}
	return nil
}

func (b *treeBuilder) ifTag(it *scanItem) (tmplNode, error) {
	if err := b.enter(it.pos); err != nil {
		return nil, err
	}
	defer func() { b.depth-- }()
	n := &ifNode{pos: it.pos}
	cond, err := parseExprTokens(it.toks, b.lim.maxDepth)
	if err != nil {
		return nil, err
	}
	for {
		body, end, err := b.body()
		if err != nil {
			return nil, err
		}
		if end == nil {
			return nil, &syntaxError{pos: it.pos, msg: "{% if %} is not closed with {% endif %}"}
		}
		n.conds = append(n.conds, cond)
		n.bodies = append(n.bodies, body)
		switch end.tag {
		case "elif", "elseif":
			if cond, err = parseExprTokens(end.toks, b.lim.maxDepth); err != nil {
				return nil, err
			}
		case "else":
			if err := noArgs(end); err != nil {
				return nil, err
			}
			els, end2, err := b.body()
			if err != nil {
				return nil, err
			}
			if end2 == nil || end2.tag != "endif" {
				return nil, &syntaxError{pos: it.pos, msg: "{% if %} is not closed with {% endif %}"}
			}
			if err := noArgs(end2); err != nil {
				return nil, err
			}
			n.els = els
			if n.els == nil {
				n.els = []tmplNode{}
			}
			return n, nil
		case "endif":
			return n, noArgs(end)
		default:
			return nil, &syntaxError{pos: end.pos, msg: fmt.Sprintf("unexpected {%% %s %%} inside {%% if %%}", end.tag)}
		}
	}
}

func (b *treeBuilder) forTag(it *scanItem) (tmplNode, error) {
	if err := b.enter(it.pos); err != nil {
		return nil, err
	}
	defer func() { b.depth-- }()
	n := &forNode{pos: it.pos}
	toks := it.toks
	i := 0
	for {
		if toks[i].kind != tokName {
			return nil, &syntaxError{pos: toks[i].pos, msg: "expected a loop variable name in {% for %}"}
		}
		n.names = append(n.names, toks[i].text)
		i++
		if toks[i].kind == tokPunct && toks[i].text == "," {
			i++
			continue
		}
		break
	}
	if len(n.names) > 2 {
		return nil, &syntaxError{pos: it.pos, msg: "{% for %} takes one or two loop variables"}
	}
	for _, name := range n.names {
		if err := checkVarName(name, it.pos); err != nil {
			return nil, err
		}
	}
	if toks[i].kind != tokName || toks[i].text != "in" {
		return nil, &syntaxError{pos: toks[i].pos, msg: "expected \"in\" in {% for %}"}
	}
	iter, err := parseExprTokens(toks[i+1:], b.lim.maxDepth)
	if err != nil {
		return nil, err
	}
	n.iter = iter
	body, end, err := b.body()
	if err != nil {
		return nil, err
	}
	if end != nil && end.tag == "else" {
		if err := noArgs(end); err != nil {
			return nil, err
		}
		els, end2, err := b.body()
		if err != nil {
			return nil, err
		}
		n.els = els
		end = end2
	}
	if end == nil || end.tag != "endfor" {
		return nil, &syntaxError{pos: it.pos, msg: "{% for %} is not closed with {% endfor %}"}
	}
	n.body = body
	return n, noArgs(end)
}

func (b *treeBuilder) setTag(it *scanItem) (tmplNode, error) {
	toks := it.toks
	if toks[0].kind != tokName {
		return nil, &syntaxError{pos: it.pos, msg: "expected a variable name in {% set %}"}
	}
	if toks[1].kind != tokPunct || toks[1].text != "=" {
		if toks[1].kind == tokPunct && toks[1].text == "," {
			return nil, &syntaxError{pos: it.pos, msg: "{% set %} with several names is not supported"}
		}
		return nil, &syntaxError{pos: it.pos, msg: "{% set %} needs \"name = expression\" (block set is not supported)"}
	}
	if err := checkVarName(toks[0].text, it.pos); err != nil {
		return nil, err
	}
	e, err := parseExprTokens(toks[2:], b.lim.maxDepth)
	if err != nil {
		return nil, err
	}
	return &setNode{pos: it.pos, name: toks[0].text, e: e}, nil
}

// checkVarName refuses variable names the engine uses itself.
func checkVarName(name string, pos int) error {
	if strings.HasPrefix(name, "__rx") || name == "forloop" || name == "pongo2" {
		return &syntaxError{pos: pos, msg: fmt.Sprintf("variable name %q is reserved", name)}
	}
	return nil
}

func noArgs(it *scanItem) error {
	if len(it.toks) > 1 {
		return &syntaxError{pos: it.pos, msg: fmt.Sprintf("{%% %s %%} takes no arguments", it.tag)}
	}
	return nil
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(src string, pos int) (int, int) {
	if pos > len(src) {
		pos = len(src)
	}
	line := 1 + strings.Count(src[:pos], "\n")
	col := pos - strings.LastIndexByte(src[:pos], '\n')
	return line, col
}

// walkNodes calls fn for every expression in nodes, in document order.
func walkNodes(nodes []tmplNode, fn func(expr)) {
	for _, n := range nodes {
		switch x := n.(type) {
		case *outputNode:
			fn(x.e)
		case *ifNode:
			for i, c := range x.conds {
				fn(c)
				walkNodes(x.bodies[i], fn)
			}
			walkNodes(x.els, fn)
		case *forNode:
			fn(x.iter)
			walkNodes(x.body, fn)
			walkNodes(x.els, fn)
		case *setNode:
			fn(x.e)
		}
	}
}

// definedNames lists the variables that set and for define in nodes.
func definedNames(nodes []tmplNode, into map[string]bool) {
	for _, n := range nodes {
		switch x := n.(type) {
		case *ifNode:
			for _, b := range x.bodies {
				definedNames(b, into)
			}
			definedNames(x.els, into)
		case *forNode:
			for _, name := range x.names {
				into[name] = true
			}
			into["loop"] = true
			definedNames(x.body, into)
			definedNames(x.els, into)
		case *setNode:
			into[x.name] = true
		}
	}
}

// walkExpr calls fn for e and every expression inside it, parents first.
func walkExpr(e expr, fn func(expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch x := e.(type) {
	case *attrExpr:
		walkExpr(x.obj, fn)
		walkExpr(x.key, fn)
	case *callExpr:
		walkExpr(x.fn, fn)
		for _, a := range x.args {
			walkExpr(a, fn)
		}
	case *filterExpr:
		walkExpr(x.input, fn)
		for _, a := range x.args {
			walkExpr(a, fn)
		}
	case *unaryExpr:
		walkExpr(x.x, fn)
	case *binaryExpr:
		walkExpr(x.l, fn)
		walkExpr(x.r, fn)
	case *testExpr:
		walkExpr(x.x, fn)
		for _, a := range x.args {
			walkExpr(a, fn)
		}
	case *condExpr:
		walkExpr(x.cond, fn)
		walkExpr(x.then, fn)
		walkExpr(x.els, fn)
	case *listExpr:
		for _, a := range x.items {
			walkExpr(a, fn)
		}
	case *dictExpr:
		for i := range x.keys {
			walkExpr(x.keys[i], fn)
			walkExpr(x.vals[i], fn)
		}
	}
}
