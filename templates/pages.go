package templates

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Conditional parameter pages.
//
// A parameter page (an entry of spec.parameters) may carry `if`, as
// Backstage's conditional pages do: a boolean, or a string — normally one
// ${{ }} expression over `parameters`. The page is shown, and its schema
// enforced, only when the condition holds:
//
//   - Pages are decided in order. Page i's condition is evaluated with
//     the same engine and truthiness as a step's `if` (EvalCondition),
//     over the submitted values plus the defaults of the shown pages
//     before it, minus every key dropped so far.
//   - A key is dropped once every page that declares it (in properties,
//     required, dependencies, allOf/anyOf/oneOf or if/then/else) is
//     hidden: a hidden page's values never reach the run, unless a shown
//     page asks for the same key. Keys no page declares are kept (an open
//     schema may allow them).
//   - A shown page's defaults are filled in, and the final values are
//     validated against every shown page's schema; a hidden page's
//     required list and property schemas are not enforced.
//   - A page without `if`, or with `if: true`, is always shown; `if:
//     false` hides it always. A string without ${{ }} is plain text and,
//     as for steps, always true.
//
// An `if` that is a mapping is not a page condition but JSON Schema's own
// if/then/else keyword and is left to the schema. A boolean or string
// `if` cannot be combined with then/else on the same page (Validate
// reports it): nest the JSON Schema conditional in allOf instead.
//
// Validate accepts only a subset of the expression language in a page
// condition, so that a form can evaluate it while the user types and
// agree with the server: one ${{ }} and nothing around it, reading
// parameters.a.b, parameters["a-b"] or parameters.list[0], string,
// number, true/false and null literals, parentheses, ==, ===, !=, !==,
// <, <=, >, >=, in, and, or and not. Values are tested with JavaScript
// truthiness: false, 0, "", null and undefined are false; every array and
// object, even an empty one, is true.

// PageCondition splits a parameter page into its condition (nil when it
// has none: no `if`, or a JSON Schema `if` mapping) and its JSON Schema
// (the page without the condition; the page itself when it has none).
func PageCondition(page map[string]any) (cond any, schema map[string]any) {
	switch v := page["if"].(type) {
	case bool, string:
		schema = maps.Clone(page)
		delete(schema, "if")
		return v, schema
	}
	return nil, page
}

// pageIfShape reports whether page has an `if` and whether it is of a
// shape neither a page condition nor JSON Schema accepts.
func pageIfShape(page map[string]any) (present, bad bool) {
	raw, present := page["if"]
	switch raw.(type) {
	case bool, string, map[string]any:
		return present, false
	}
	return present, present
}

// pageNames is the set of top-level property names each page declares.
func pageNames(pages []map[string]any) []map[string]bool {
	out := make([]map[string]bool, len(pages))
	for i, p := range pages {
		_, schema := PageCondition(p)
		out[i] = map[string]bool{}
		parameterNames(schema, out[i], 0)
	}
	return out
}

// ShownPages decides which parameter pages of t apply to values (see the
// rules above) and returns the values a run gets: hidden pages' keys
// dropped, shown pages' defaults filled in. values is not modified; it
// must be JSON-shaped. The result is not validated against the schemas.
func ShownPages(t *Template, values map[string]any) (shown []bool, params map[string]any, err error) {
	params, _ = deepCopy(values).(map[string]any)
	if params == nil {
		params = map[string]any{}
	}
	pages := t.Spec.Parameters
	names := pageNames(pages)
	shown = make([]bool, len(pages))
	hidden := make([]bool, len(pages))
	// dropped reports whether every page declaring key is hidden so far.
	dropped := func(key string) bool {
		declared := false
		for i, n := range names {
			if n[key] {
				declared = true
				if !hidden[i] {
					return false
				}
			}
		}
		return declared
	}
	visible := func() map[string]any {
		out := make(map[string]any, len(params))
		for k, v := range params {
			if !dropped(k) {
				out[k] = v
			}
		}
		return out
	}
	var r *Renderer
	for i, page := range pages {
		cond, schema := PageCondition(page)
		ok := true
		switch c := cond.(type) {
		case bool:
			ok = c
		case string:
			if r == nil {
				if r, err = NewRenderer(Limits{}); err != nil {
					return nil, nil, err
				}
			}
			ok, err = r.EvalCondition(c, Context{Parameters: visible()})
			if err != nil {
				return nil, nil, &ParameterError{Problems: []Problem{{Severity: SeverityError,
					Path: fmt.Sprintf("parameters[%d].if", i), Message: "the page's condition cannot be evaluated: " + err.Error()}}}
			}
		}
		shown[i], hidden[i] = ok, !ok
		if ok {
			applyDefaults(params, schema, 0)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if dropped(k) {
			delete(params, k)
		}
	}
	return shown, params, nil
}

// pageLabel names page i in messages: page 2 "Database".
func pageLabel(page map[string]any, i int) string {
	if title, _ := page["title"].(string); title != "" {
		return fmt.Sprintf("page %d %q", i+1, title)
	}
	return fmt.Sprintf("page %d", i+1)
}

// checkPageConditions is Validate's part for page conditions.
func (v *validator) checkPageConditions() {
	names := pageNames(v.t.Spec.Parameters)
	for i, page := range v.t.Spec.Parameters {
		raw, present := page["if"]
		if !present {
			continue
		}
		path := fmt.Sprintf("parameters[%d].if", i)
		switch c := raw.(type) {
		case map[string]any:
			continue // JSON Schema's if, with then/else
		case bool:
		case string:
			if !hasSyntax(c) {
				v.warn(path, "plain text %q is always true; use a boolean or a ${{ }} expression", c)
				break
			}
			v.checkPageExpr(path, c, i, names)
		default:
			v.errorf(path, "a page condition must be a boolean or a ${{ }} expression string, got %s", shape(raw))
			continue
		}
		for _, k := range []string{"then", "else"} {
			if _, ok := page[k]; ok {
				v.errorf(path, "a page condition cannot be combined with JSON Schema's %s on the same page; put the if/then/else schema inside allOf", k)
				break
			}
		}
	}
}

// checkPageExpr checks that a page condition parses and stays inside the
// subset a form can evaluate (see the package comment above).
func (v *validator) checkPageExpr(path, src string, page int, names []map[string]bool) {
	pt, err := parseTemplateString(src, v.parseLimits())
	if err != nil {
		v.errorf(path, "%s", locate(err, src))
		return
	}
	if !pt.single {
		v.errorf(path, "a page condition must be exactly one ${{ }} expression with nothing around it")
		return
	}
	at := func(pos int, msg string) string {
		line, col := lineCol(src, pos)
		return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
	}
	out := pt.nodes[0].(*outputNode)
	var walk func(e expr) bool
	refuse := func(e expr, what string) bool {
		v.errorf(path, "%s", at(e.position(), what+" is not allowed in a page condition (it may use parameters.x, literals, parentheses, ==, ===, !=, !==, <, <=, >, >=, in, and, or, not)"))
		return false
	}
	walk = func(e expr) bool {
		switch x := e.(type) {
		case *litExpr:
			switch x.val.(type) {
			case nil, bool, string, float64:
				return true
			}
			return refuse(e, "a regular expression")
		case *nameExpr:
			v.errorf(path, "%s", at(x.pos, fmt.Sprintf("%q: a page condition may only read parameters.<name>", x.name)))
			return false
		case *attrExpr:
			key, ok := x.key.(*litExpr)
			if !ok {
				return refuse(e, "a computed property name")
			}
			name, isStr := key.val.(string)
			if _, isNum := key.val.(float64); !isStr && !isNum {
				return refuse(e, "a computed property name")
			}
			if root, isName := x.obj.(*nameExpr); isName {
				if !isStr {
					return refuse(e, "a computed property name")
				}
				if root.name != "parameters" {
					v.errorf(path, "%s", at(root.pos, fmt.Sprintf("%q: a page condition may only read parameters.<name>", root.name)))
					return false
				}
				v.pageReference(path, at(root.pos, ""), name, page, names)
				return true
			}
			return walk(x.obj)
		case *unaryExpr:
			if x.op != "not" {
				return refuse(e, fmt.Sprintf("unary %q", x.op))
			}
			return walk(x.x)
		case *binaryExpr:
			switch x.op {
			case "==", "===", "!=", "!==", "<", "<=", ">", ">=", "in", "and", "or":
				return walk(x.l) && walk(x.r)
			}
			return refuse(e, fmt.Sprintf("the operator %q", x.op))
		case *filterExpr:
			return refuse(e, fmt.Sprintf("the filter %q", x.name))
		case *callExpr:
			return refuse(e, "a function call")
		case *testExpr:
			return refuse(e, fmt.Sprintf("the test \"is %s\"", x.name))
		case *condExpr:
			return refuse(e, "an inline if")
		case *listExpr:
			return refuse(e, "a list literal")
		case *dictExpr:
			return refuse(e, "an object literal")
		}
		return refuse(e, "this expression")
	}
	walk(out.e)
}

// pageReference warns about a condition of page reading a parameter that no
// earlier page asks for. where is "line L, column C: ".
func (v *validator) pageReference(path, where, key string, page int, names []map[string]bool) {
	for i := 0; i < page; i++ {
		if names[i][key] {
			return
		}
	}
	for i := page; i < len(names); i++ {
		if names[i][key] {
			v.warn(path, "%sparameters.%s is asked on %s, not before it: the condition sees it only if it was sent anyway", where, key, pageLabel(v.t.Spec.Parameters[i], i))
			return
		}
	}
	if v.paramsOpen {
		v.warn(path, "%sparameters.%s is not defined by any parameter page", where, key)
	} else {
		v.errorf(path, "%sparameters.%s is not defined by any parameter page, and the pages allow no other properties", where, key)
	}
}

// pageProblems labels the problems of page i's schema with the page.
func pageProblems(problems []Problem, page map[string]any, i int) []Problem {
	label := pageLabel(page, i)
	for j := range problems {
		if !strings.Contains(problems[j].Message, label) {
			problems[j].Message += " (" + label + ")"
		}
	}
	return problems
}
