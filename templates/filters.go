package templates

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/riggerdev/rigger/internal/jsnum"
)

// filterFn implements one filter: input | name(args...).
type filterFn func(e *evaluator, in any, args []any) (any, error)

// filterFunc returns the filter called name, or nil. These are Nunjucks'
// built-in filters that are deterministic and cheap (random, groupby,
// dictsort, batch, slice, center, nl2br and urlize are not offered) plus
// Backstage's own: parseRepoUrl, parseEntityRef, pick, projectSlug and
// jsonify (JSON.stringify, for cookiecutter skeletons).
//
// The table is a switch rather than a map so that nothing in this package
// is mutable global state, and nothing is registered with pongo2.
func filterFunc(name string) filterFn {
	switch name {
	case "abs":
		return func(_ *evaluator, in any, _ []any) (any, error) { return math.Abs(toNumber(in)), nil }
	case "capitalize":
		return func(_ *evaluator, in any, _ []any) (any, error) { return capitalize(display(in)), nil }
	case "default", "d":
		return filterDefault
	case "dump", "jsonify": // jsonify: fetch:template's cookiecutterCompat
		return filterDump
	case "escape", "e":
		return func(_ *evaluator, in any, _ []any) (any, error) { return htmlEscape(display(in)), nil }
	case "first", "last":
		return func(_ *evaluator, in any, _ []any) (any, error) { return firstLast(in, name == "first"), nil }
	case "float":
		return func(_ *evaluator, in any, args []any) (any, error) {
			if f, ok := parseFloatPrefix(display(in)); ok {
				return f, nil
			}
			return argAt(args, 0), nil
		}
	case "int":
		return func(_ *evaluator, in any, args []any) (any, error) {
			if f, ok := parseIntPrefix(display(in)); ok {
				return f, nil
			}
			return argAt(args, 0), nil
		}
	case "indent":
		return filterIndent
	case "join":
		return filterJoin
	case "length":
		return func(_ *evaluator, in any, _ []any) (any, error) { return length(in), nil }
	case "list":
		return filterList
	case "lower":
		return func(_ *evaluator, in any, _ []any) (any, error) { return strings.ToLower(display(in)), nil }
	case "upper":
		return func(_ *evaluator, in any, _ []any) (any, error) { return strings.ToUpper(display(in)), nil }
	case "replace":
		return filterReplace
	case "reverse":
		return filterReverse
	case "round":
		return filterRound
	case "safe":
		return func(_ *evaluator, in any, _ []any) (any, error) { return in, nil }
	case "selectattr", "rejectattr":
		return func(_ *evaluator, in any, args []any) (any, error) {
			return selectAttr(in, args, name == "selectattr")
		}
	case "sort":
		return filterSort
	case "string":
		return func(_ *evaluator, in any, _ []any) (any, error) { return display(in), nil }
	case "striptags":
		return func(_ *evaluator, in any, args []any) (any, error) {
			return stripTags(display(in), truthy(argAt(args, 0))), nil
		}
	case "sum":
		return filterSum
	case "title":
		return func(_ *evaluator, in any, _ []any) (any, error) {
			words := strings.Split(display(in), " ")
			for i, w := range words {
				words[i] = capitalize(w)
			}
			return strings.Join(words, " "), nil
		}
	case "trim":
		return func(_ *evaluator, in any, _ []any) (any, error) { return strings.TrimSpace(display(in)), nil }
	case "truncate":
		return filterTruncate
	case "urlencode":
		return filterURLEncode
	case "wordcount":
		return func(_ *evaluator, in any, _ []any) (any, error) {
			n := 0
			inWord := false
			for _, r := range display(in) {
				w := r == '_' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))
				if w && !inWord {
					n++
				}
				inWord = w
			}
			if n == 0 {
				return nil, nil
			}
			return float64(n), nil
		}
	case "parseRepoUrl":
		return filterParseRepoURL
	case "projectSlug":
		return filterProjectSlug
	case "parseEntityRef":
		return filterParseEntityRef
	case "pick":
		return filterPick
	}
	return nil
}

// filterDefault is default(value, fallback, boolean): the fallback replaces
// undefined, or any falsy value when boolean is true.
func filterDefault(_ *evaluator, in any, args []any) (any, error) {
	if truthy(argAt(args, 1)) {
		if truthy(in) {
			return in, nil
		}
		return argAt(args, 0), nil
	}
	if in != nil {
		return in, nil
	}
	return argAt(args, 0), nil
}

// filterDump is JSON.stringify(value, null, spaces).
func filterDump(e *evaluator, in any, args []any) (any, error) {
	indent := ""
	switch sp := argAt(args, 0).(type) {
	case float64:
		indent = strings.Repeat(" ", max(0, min(10, int(sp))))
	case string:
		indent = sp
		if len(indent) > 10 {
			indent = indent[:10]
		}
	}
	s, ok, err := toJSON(in, indent)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	if err := e.b.checkString(len(s)); err != nil {
		return nil, err
	}
	return s, nil
}

func capitalize(s string) string {
	s = strings.ToLower(s)
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

func htmlEscape(s string) string { return htmlEscaper.Replace(s) }

// htmlEscaper is built once: a Replacer builds its tables on first use.
var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func firstLast(in any, first bool) any {
	switch x := in.(type) {
	case []any:
		if len(x) == 0 {
			return nil
		}
		if first {
			return x[0]
		}
		return x[len(x)-1]
	case string:
		runes := []rune(x)
		if len(runes) == 0 {
			return nil
		}
		if first {
			return string(runes[0])
		}
		return string(runes[len(runes)-1])
	}
	return nil
}

func length(in any) any {
	switch x := in.(type) {
	case nil:
		return 0.0
	case []any:
		return float64(len(x))
	case string:
		return float64(utf8.RuneCountInString(x))
	case map[string]any:
		return float64(len(x))
	}
	return nil
}

// parseFloatPrefix is JavaScript's parseFloat: the longest numeric prefix.
func parseFloatPrefix(s string) (float64, bool) {
	s = strings.TrimLeft(s, " \t\r\n\v\f")
	re := regexp.MustCompile(`^[+-]?(Infinity|[0-9]+\.?[0-9]*([eE][+-]?[0-9]+)?|\.[0-9]+([eE][+-]?[0-9]+)?)`)
	m := re.FindString(s)
	if m == "" {
		return 0, false
	}
	f := stringToNumber(strings.TrimSuffix(m, "."))
	return f, !math.IsNaN(f)
}

// parseIntPrefix is JavaScript's parseInt(s, 10).
func parseIntPrefix(s string) (float64, bool) {
	s = strings.TrimLeft(s, " \t\r\n\v\f")
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i {
		return 0, false
	}
	return stringToNumber(s[:j]), true
}

// filterIndent is indent(text, width=4, first=false).
func filterIndent(e *evaluator, in any, args []any) (any, error) {
	s := display(in)
	if s == "" {
		return "", nil
	}
	width := 4
	if v := argAt(args, 0); v != nil {
		width = max(0, toInteger(v))
	}
	if err := e.b.checkString(width); err != nil {
		return nil, err
	}
	pad := strings.Repeat(" ", width)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if i > 0 || truthy(argAt(args, 1)) {
			lines[i] = pad + l
		}
	}
	if err := e.b.checkString(len(s) + len(lines)*width); err != nil {
		return nil, err
	}
	return strings.Join(lines, "\n"), nil
}

// filterJoin is join(array, separator="", attribute).
func filterJoin(e *evaluator, in any, args []any) (any, error) {
	arr, ok := in.([]any)
	if !ok {
		return nil, fmt.Errorf("expects an array, got %s", typeName(in))
	}
	if attr := argAt(args, 1); attr != nil {
		mapped := make([]any, len(arr))
		for i, v := range arr {
			mapped[i] = member(v, attr)
		}
		arr = mapped
	}
	sep := ""
	if v := argAt(args, 0); v != nil {
		sep = jsString(v)
	}
	return joinValues(e.b, arr, sep)
}

// filterList turns a string into its characters and an object into
// {key, value} pairs (sorted by key).
func filterList(e *evaluator, in any, _ []any) (any, error) {
	switch x := in.(type) {
	case []any:
		return append([]any{}, x...), nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, e.b.checkItems(len(out))
	case map[string]any:
		out := make([]any, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			out = append(out, map[string]any{"key": k, "value": x[k]})
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot turn %s into a list", typeName(in))
}

// filterReplace is replace(text, old, new, maxCount): every occurrence of a
// string (up to maxCount), or what a regex literal matches.
func filterReplace(e *evaluator, in any, args []any) (any, error) {
	s, ok := in.(string)
	if n, isNum := in.(float64); isNum {
		s, ok = jsnum.Format(n), true
	}
	if !ok {
		return in, nil
	}
	old := argAt(args, 0)
	if re, isRe := old.(*regexValue); isRe {
		return replaceString(e.b, s, re, argAt(args, 1), false, -1)
	}
	switch o := old.(type) {
	case float64:
		old = jsnum.Format(o)
	case string:
	default:
		return s, nil
	}
	count := -1
	if v := argAt(args, 2); v != nil {
		count = toInteger(v)
	}
	if old == "" {
		count = -1
	}
	return replaceString(e.b, s, old, argAt(args, 1), true, count)
}

func filterReverse(_ *evaluator, in any, _ []any) (any, error) {
	switch x := in.(type) {
	case string:
		runes := []rune(x)
		for i, j := 0, len(runes)-1; i < j; i, j = i+1, j-1 {
			runes[i], runes[j] = runes[j], runes[i]
		}
		return string(runes), nil
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[len(x)-1-i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot reverse %s", typeName(in))
}

// filterRound is round(value, precision=0, method="common"|"ceil"|"floor").
func filterRound(_ *evaluator, in any, args []any) (any, error) {
	factor := math.Pow(10, float64(max(-20, min(20, toInteger(argAt(args, 0))))))
	v := toNumber(in) * factor
	switch display(argAt(args, 1)) {
	case "ceil":
		v = math.Ceil(v)
	case "floor":
		v = math.Floor(v)
	default:
		v = math.Floor(v + 0.5)
	}
	return v / factor, nil
}

func selectAttr(in any, args []any, keep bool) (any, error) {
	arr, ok := in.([]any)
	if !ok {
		return nil, fmt.Errorf("expects an array, got %s", typeName(in))
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("takes exactly one attribute name")
	}
	out := []any{}
	for _, v := range arr {
		if truthy(member(v, args[0])) == keep {
			out = append(out, v)
		}
	}
	return out, nil
}

// filterSort is sort(array, reverse=false, caseSensitive=false, attribute).
func filterSort(_ *evaluator, in any, args []any) (any, error) {
	arr, ok := in.([]any)
	if !ok {
		return nil, fmt.Errorf("expects an array, got %s", typeName(in))
	}
	reverse, caseSens, attr := truthy(argAt(args, 0)), truthy(argAt(args, 1)), argAt(args, 2)
	out := append([]any{}, arr...)
	key := func(v any) any {
		if attr != nil {
			v = member(v, attr)
		}
		if s, ok := v.(string); ok && !caseSens {
			return strings.ToLower(s)
		}
		return v
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := key(out[i]), key(out[j])
		if reverse {
			return compareValues(">", a, b)
		}
		return compareValues("<", a, b)
	})
	return out, nil
}

// stripTags removes HTML tags and comments and collapses white space.
func stripTags(s string, keepLines bool) string {
	tags := regexp.MustCompile(`(?i)</?([a-z][a-z0-9]*)\b[^>]*>|<!--(?s:.*?)-->`)
	s = strings.TrimSpace(tags.ReplaceAllString(s, ""))
	if !keepLines {
		return strings.Join(strings.Fields(s), " ")
	}
	s = regexp.MustCompile(`(?m)^ +| +$`).ReplaceAllString(s, "")
	s = regexp.MustCompile(` +`).ReplaceAllString(s, " ")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return regexp.MustCompile(`\n\n\n+`).ReplaceAllString(s, "\n\n")
}

// filterSum is sum(array, attribute, start=0), adding with JavaScript's +.
func filterSum(e *evaluator, in any, args []any) (any, error) {
	arr, ok := in.([]any)
	if !ok {
		return nil, fmt.Errorf("expects an array, got %s", typeName(in))
	}
	var total any = 0.0
	if v := argAt(args, 1); v != nil {
		total = v
	}
	for _, v := range arr {
		if attr := argAt(args, 0); attr != nil {
			v = member(v, attr)
		}
		var err error
		if total, err = jsAdd(e.b, total, v); err != nil {
			return nil, err
		}
	}
	return total, nil
}

// jsAdd is JavaScript's a + b.
func jsAdd(b *budget, x, y any) (any, error) {
	px, py := toPrimitive(x), toPrimitive(y)
	_, xs := px.(string)
	_, ys := py.(string)
	if xs || ys {
		s1, s2 := jsString(px), jsString(py)
		if err := b.checkString(len(s1) + len(s2)); err != nil {
			return nil, err
		}
		return s1 + s2, nil
	}
	return toNumber(px) + toNumber(py), nil
}

// filterTruncate is truncate(text, length=255, killwords=false, end="...").
func filterTruncate(_ *evaluator, in any, args []any) (any, error) {
	runes := []rune(display(in))
	n := toInteger(argAt(args, 0))
	if n <= 0 {
		n = 255
	}
	if len(runes) <= n {
		return string(runes), nil
	}
	cut := n
	if !truthy(argAt(args, 1)) {
		cut = -1
		for i := min(n, len(runes)-1); i >= 0; i-- {
			if runes[i] == ' ' {
				cut = i
				break
			}
		}
		if cut < 0 {
			cut = n
		}
	}
	end := "..."
	if v := argAt(args, 2); v != nil {
		end = jsString(v)
	}
	return string(runes[:cut]) + end, nil
}

// filterURLEncode percent-encodes a string like encodeURIComponent, or an
// object (or array of [key, value] pairs) as a query string.
func filterURLEncode(_ *evaluator, in any, _ []any) (any, error) {
	switch x := in.(type) {
	case string:
		return encodeURIComponent(x), nil
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			parts = append(parts, encodeURIComponent(k)+"="+encodeURIComponent(jsString(x[k])))
		}
		return strings.Join(parts, "&"), nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, p := range x {
			pair, ok := p.([]any)
			if !ok || len(pair) != 2 {
				return nil, fmt.Errorf("expects [key, value] pairs")
			}
			parts = append(parts, encodeURIComponent(jsString(pair[0]))+"="+encodeURIComponent(jsString(pair[1])))
		}
		return strings.Join(parts, "&"), nil
	}
	return encodeURIComponent(jsString(in)), nil
}

func encodeURIComponent(s string) string {
	const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte(unreserved, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
