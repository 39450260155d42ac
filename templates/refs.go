package templates

import (
	"maps"
	"slices"
	"strconv"
)

// Static analysis of the expressions in a template, for Validate.

// templateString is one string with template syntax found in a value tree.
type templateString struct {
	path   string // where it sits, e.g. input.values.name
	src    string
	parsed *parsedTemplate
	err    error // a syntax error, if it does not parse
}

// findTemplateStrings parses every string with template syntax in v.
func findTemplateStrings(v any, path string, lim parseLimits, into *[]templateString) {
	switch x := v.(type) {
	case string:
		if !hasSyntax(x) {
			return
		}
		ts := templateString{path: path, src: x}
		if len(x) > DefaultLimits().MaxTemplateBytes {
			ts.err = &syntaxError{msg: "template string is larger than the limit"}
		} else {
			ts.parsed, ts.err = parseTemplateString(x, lim)
		}
		*into = append(*into, ts)
	case map[string]any:
		keys := slices.Sorted(maps.Keys(x))
		for _, k := range keys {
			findTemplateStrings(x[k], joinPath(path, k), lim, into)
		}
	case []any:
		for i, e := range x {
			findTemplateStrings(e, path+"["+strconv.Itoa(i)+"]", lim, into)
		}
	}
}

// reference is a use of a top-level variable, with the first property
// read from it when that is a constant (parameters.name, steps["a-b"]).
type reference struct {
	root string
	key  string // "" when absent or computed
	pos  int
	// hyphenated is set for steps.a-b written with dots, which Nunjucks
	// reads as steps.a minus b; key is then "a-b".
	hyphenated bool
}

// hyphenChain recognizes steps.a - b - c... (how steps.a-b-c parses) and
// returns the id "a-b-c", the steps.a lookup and the names b, c.
func hyphenChain(e expr) (id string, head *attrExpr, names []*nameExpr, ok bool) {
	switch x := e.(type) {
	case *attrExpr:
		root, isName := x.obj.(*nameExpr)
		lit, isLit := x.key.(*litExpr)
		if isName && root.name == "steps" && isLit {
			if s, isStr := lit.val.(string); isStr {
				return s, x, nil, true
			}
		}
	case *binaryExpr:
		if x.op != "-" {
			return "", nil, nil, false
		}
		id, head, names, ok = hyphenChain(x.l)
		if !ok {
			return "", nil, nil, false
		}
		r := rootName(x.r)
		if r == nil {
			return "", nil, nil, false
		}
		return id + "-" + r.name, head, append(names, r), true
	}
	return "", nil, nil, false
}

// rootName is the variable at the start of an attribute chain.
func rootName(e expr) *nameExpr {
	for {
		switch x := e.(type) {
		case *nameExpr:
			return x
		case *attrExpr:
			e = x.obj
		default:
			return nil
		}
	}
}

// references lists the top-level variables a parsed template reads, except
// those it defines itself with set or for, and except called names
// (range(...) is a function).
func references(pt *parsedTemplate) []reference {
	local := map[string]bool{}
	definedNames(pt.nodes, local)
	var refs []reference
	done := map[expr]bool{}
	called := map[expr]bool{}
	walkNodes(pt.nodes, func(e expr) {
		walkExpr(e, func(n expr) {
			if c, ok := n.(*callExpr); ok {
				called[c.fn] = true
			}
		})
	})
	walkNodes(pt.nodes, func(e expr) {
		walkExpr(e, func(n expr) {
			if done[n] {
				return
			}
			if b, ok := n.(*binaryExpr); ok && b.op == "-" {
				if id, head, names, ok := hyphenChain(b); ok {
					done[head] = true
					for _, nm := range names {
						done[nm] = true
					}
					refs = append(refs, reference{root: "steps", key: id, pos: head.obj.position(), hyphenated: true})
				}
				return
			}
			switch x := n.(type) {
			case *attrExpr:
				root, ok := x.obj.(*nameExpr)
				if !ok || local[root.name] || done[root] {
					return
				}
				done[root] = true
				key := ""
				if lit, ok := x.key.(*litExpr); ok {
					if s, ok := lit.val.(string); ok {
						key = s
					}
				}
				refs = append(refs, reference{root: root.name, key: key, pos: root.pos})
			case *nameExpr:
				if !local[x.name] && !called[x] {
					refs = append(refs, reference{root: x.name, pos: x.pos})
				}
			}
		})
	})
	return refs
}
