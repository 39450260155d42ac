package templates

import (
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/riggerdev/rigger/internal/jsnum"
)

// callMethod calls a JavaScript method of a string, array or number, as
// Nunjucks templates can (parameters.name.toUpperCase(), list.join("-")).
// Only side-effect-free methods are offered; indexes count Unicode code
// points where JavaScript counts UTF-16 units.
func callMethod(b *budget, obj any, name string, args []any) (any, error) {
	switch o := obj.(type) {
	case string:
		return stringMethod(b, o, name, args)
	case []any:
		return arrayMethod(b, o, name, args)
	case float64:
		switch name {
		case "toString":
			return jsnum.Format(o), nil
		case "toFixed":
			d := toInteger(argAt(args, 0))
			if d < 0 || d > 100 {
				return nil, fmt.Errorf("digits must be between 0 and 100")
			}
			return fmt.Sprintf("%.*f", d, o), nil
		}
	case map[string]any:
		if name == "hasOwnProperty" {
			_, ok := o[jsString(argAt(args, 0))]
			return ok, nil
		}
	case nil:
		return nil, fmt.Errorf("cannot call a method of undefined")
	}
	return nil, fmt.Errorf("%s has no method %q", typeName(obj), name)
}

func argAt(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

// relIndex resolves a JavaScript slice index (negative counts from the end)
// against length n.
func relIndex(v any, n int, def int) int {
	if v == nil {
		return def
	}
	i := toInteger(v)
	if i < 0 {
		i += n
		if i < 0 {
			i = 0
		}
	}
	if i > n {
		i = n
	}
	return i
}

func stringMethod(b *budget, s, name string, args []any) (any, error) {
	str := func(i int) string { return jsString(argAt(args, i)) }
	switch name {
	case "toLowerCase", "toLocaleLowerCase":
		return strings.ToLower(s), nil
	case "toUpperCase", "toLocaleUpperCase":
		return strings.ToUpper(s), nil
	case "trim":
		return strings.TrimSpace(s), nil
	case "trimStart":
		return strings.TrimLeft(s, " \t\r\n\v\f"), nil
	case "trimEnd":
		return strings.TrimRight(s, " \t\r\n\v\f"), nil
	case "toString", "valueOf":
		return s, nil
	case "startsWith":
		return strings.HasPrefix(s, str(0)), nil
	case "endsWith":
		return strings.HasSuffix(s, str(0)), nil
	case "includes":
		return strings.Contains(s, str(0)), nil
	case "indexOf", "lastIndexOf":
		var i int
		if name == "indexOf" {
			i = strings.Index(s, str(0))
		} else {
			i = strings.LastIndex(s, str(0))
		}
		if i < 0 {
			return float64(-1), nil
		}
		return float64(utf8.RuneCountInString(s[:i])), nil
	case "charAt", "at":
		runes := []rune(s)
		i := toInteger(argAt(args, 0))
		if name == "at" && i < 0 {
			i += len(runes)
		}
		if i < 0 || i >= len(runes) {
			if name == "at" {
				return nil, nil
			}
			return "", nil
		}
		return string(runes[i]), nil
	case "slice":
		runes := []rune(s)
		start := relIndex(argAt(args, 0), len(runes), 0)
		end := relIndex(argAt(args, 1), len(runes), len(runes))
		if start >= end {
			return "", nil
		}
		return string(runes[start:end]), nil
	case "substring":
		runes := []rune(s)
		clamp := func(v any, def int) int {
			if v == nil {
				return def
			}
			i := toInteger(v)
			return max(0, min(i, len(runes)))
		}
		start, end := clamp(argAt(args, 0), 0), clamp(argAt(args, 1), len(runes))
		if start > end {
			start, end = end, start
		}
		return string(runes[start:end]), nil
	case "split":
		return splitString(b, s, argAt(args, 0), argAt(args, 1))
	case "replace", "replaceAll":
		return replaceString(b, s, argAt(args, 0), argAt(args, 1), name == "replaceAll", -1)
	case "concat":
		var sb strings.Builder
		sb.WriteString(s)
		for _, a := range args {
			sb.WriteString(jsString(a))
		}
		if err := b.checkString(sb.Len()); err != nil {
			return nil, err
		}
		return sb.String(), nil
	case "repeat":
		n := toInteger(argAt(args, 0))
		if n < 0 {
			return nil, fmt.Errorf("invalid count %d", n)
		}
		if err := b.checkString(len(s) * n); err != nil {
			return nil, err
		}
		return strings.Repeat(s, n), nil
	case "padStart", "padEnd":
		width := toInteger(argAt(args, 0))
		fill := " "
		if len(args) > 1 {
			fill = str(1)
		}
		if err := b.checkString(width); err != nil {
			return nil, err
		}
		runes := []rune(s)
		if width <= len(runes) || fill == "" {
			return s, nil
		}
		pad := []rune(strings.Repeat(fill, width/len([]rune(fill))+1))[:width-len(runes)]
		if name == "padStart" {
			return string(pad) + s, nil
		}
		return s + string(pad), nil
	}
	return nil, fmt.Errorf("string has no method %q", name)
}

func arrayMethod(b *budget, a []any, name string, args []any) (any, error) {
	switch name {
	case "join":
		sep := ","
		if v := argAt(args, 0); v != nil {
			sep = jsString(v)
		}
		return joinValues(b, a, sep)
	case "toString":
		return joinValues(b, a, ",")
	case "includes":
		for _, v := range a {
			if strictEqual(v, argAt(args, 0)) {
				return true, nil
			}
		}
		return false, nil
	case "indexOf":
		for i, v := range a {
			if strictEqual(v, argAt(args, 0)) {
				return float64(i), nil
			}
		}
		return float64(-1), nil
	case "at":
		i := toInteger(argAt(args, 0))
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, nil
		}
		return a[i], nil
	case "slice":
		start := relIndex(argAt(args, 0), len(a), 0)
		end := relIndex(argAt(args, 1), len(a), len(a))
		if start >= end {
			return []any{}, nil
		}
		return append([]any{}, a[start:end]...), nil
	case "concat":
		out := append([]any{}, a...)
		for _, v := range args {
			if l, ok := v.([]any); ok {
				out = append(out, l...)
			} else {
				out = append(out, v)
			}
			if err := b.checkItems(len(out)); err != nil {
				return nil, err
			}
		}
		if err := b.checkWeight(out); err != nil {
			return nil, err
		}
		return out, nil
	case "reverse":
		out := make([]any, len(a))
		for i, v := range a {
			out[len(a)-1-i] = v
		}
		return out, nil
	}
	return nil, fmt.Errorf("array has no method %q", name)
}

// joinValues joins array elements as Array.prototype.join does: undefined
// and null elements are empty.
func joinValues(b *budget, a []any, sep string) (string, error) {
	var sb strings.Builder
	for i, v := range a {
		if i > 0 {
			sb.WriteString(sep)
		}
		sb.WriteString(display(v))
		if err := b.checkString(sb.Len()); err != nil {
			return "", err
		}
	}
	return sb.String(), nil
}

// splitString is String.prototype.split(separator, limit).
func splitString(b *budget, s string, sep, limit any) (any, error) {
	max := math.MaxInt32
	if limit != nil {
		max = toInteger(limit)
		if max < 0 {
			max = math.MaxInt32
		}
	}
	var parts []string
	switch sp := sep.(type) {
	case nil:
		parts = []string{s}
	case *regexValue:
		parts = sp.re.Split(s, -1)
	default:
		str := jsString(sp)
		if str == "" {
			for _, r := range s {
				parts = append(parts, string(r))
			}
		} else {
			parts = strings.Split(s, str)
		}
	}
	if len(parts) > max {
		parts = parts[:max]
	}
	if err := b.checkItems(len(parts)); err != nil {
		return nil, err
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

// replaceString replaces pattern (a string or regex) by repl in s. A
// string pattern replaces the first occurrence unless all is set, or up to
// count occurrences when count >= 0. A regex replaces every match when it
// has the g flag. In repl, $& is the match and $1..$9 are groups, as in
// JavaScript.
func replaceString(b *budget, s string, pattern, repl any, all bool, count int) (any, error) {
	r := jsString(repl)
	if repl == nil {
		r = "undefined"
	}
	var out string
	switch p := pattern.(type) {
	case *regexValue:
		limit := 1
		if p.global || all {
			limit = -1
		}
		var sb strings.Builder
		last := 0
		for _, m := range p.re.FindAllStringSubmatchIndex(s, limit) {
			sb.WriteString(s[last:m[0]])
			expandReplacement(&sb, s, m, r)
			last = m[1]
			if err := b.checkString(sb.Len()); err != nil {
				return nil, err
			}
		}
		sb.WriteString(s[last:])
		out = sb.String()
	default:
		old := jsString(p)
		switch {
		case count >= 0:
			out = strings.Replace(s, old, r, count)
		case all:
			out = strings.ReplaceAll(s, old, r)
		default:
			out = strings.Replace(s, old, r, 1)
		}
	}
	if err := b.checkString(len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// expandReplacement writes a JavaScript replacement string for one match
// (submatch indexes m of s): $& is the match, $$ a dollar, $1..$9 groups.
func expandReplacement(sb *strings.Builder, s string, m []int, repl string) {
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '$' || i+1 >= len(repl) {
			sb.WriteByte(c)
			continue
		}
		n := repl[i+1]
		switch {
		case n == '$':
			sb.WriteByte('$')
			i++
		case n == '&':
			sb.WriteString(s[m[0]:m[1]])
			i++
		case n >= '1' && n <= '9' && 2*int(n-'0')+1 < len(m):
			g := int(n - '0')
			if m[2*g] >= 0 {
				sb.WriteString(s[m[2*g]:m[2*g+1]])
			}
			i++
		default:
			sb.WriteByte(c)
		}
	}
}
