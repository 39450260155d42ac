package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/riggerdev/rigger/internal/jsnum"
)

// Expression values follow JavaScript, because Backstage evaluates templates
// with Nunjucks on Node.js. Inside the evaluator a value is one of:
//
//	nil            undefined or null (not told apart; see Context)
//	bool
//	float64        every number, as in JavaScript
//	string
//	[]any          array
//	map[string]any object
//	*regexValue    a regular expression literal r/.../flags
//
// importValue turns caller data into that form and exportValue turns results
// back into JSON-shaped Go values.

// regexValue is a Nunjucks regular expression literal, compiled with Go's
// RE2 engine (linear time, so no catastrophic backtracking).
type regexValue struct {
	re     *regexp.Regexp
	global bool
	source string
	flags  string
}

// maxSafeInteger is 2^53, the largest integer a float64 holds exactly.
const maxSafeInteger = 1 << 53

// importValue converts a caller's value (from YAML, JSON or Go code) into an
// evaluator value. Types that JSON cannot carry are rejected.
func importValue(v any, depth int) (any, error) {
	if depth <= 0 {
		return nil, fmt.Errorf("value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		return x, nil
	case string:
		return x, nil
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int8:
		return float64(x), nil
	case int16:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case uint:
		return float64(x), nil
	case uint8:
		return float64(x), nil
	case uint16:
		return float64(x), nil
	case uint32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", x.String())
		}
		return f, nil
	case *regexValue:
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := importValue(e, depth-1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = e
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := importValue(e, depth-1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[string]string:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = e
		}
		return out, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			c, err := importValue(rv.Index(i).Interface(), depth-1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map with %s keys is not supported", rv.Type().Key())
		}
		out := make(map[string]any, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			c, err := importValue(iter.Value().Interface(), depth-1)
			if err != nil {
				return nil, err
			}
			out[iter.Key().String()] = c
		}
		return out, nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return importValue(rv.Elem().Interface(), depth)
	}
	return nil, fmt.Errorf("value of type %T is not supported", v)
}

// exportValue converts an evaluator value into what JSON.parse(JSON.stringify(v))
// gives in Backstage: integral numbers become int64 (others float64),
// NaN and infinities become nil, regular expressions become empty objects.
func exportValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		if x == math.Trunc(x) && math.Abs(x) <= maxSafeInteger {
			return int64(x)
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = exportValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = exportValue(e)
		}
		return out
	case *regexValue:
		return map[string]any{}
	}
	return v
}

// truthy is JavaScript's ToBoolean: undefined, null, false, 0, NaN and "" are
// false; everything else, empty arrays and objects included, is true.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	}
	return true
}

// typeName names a value's type in error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "undefined"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case *regexValue:
		return "regexp"
	}
	return fmt.Sprintf("%T", v)
}

// display is how Nunjucks prints a value: undefined and null print nothing,
// everything else as JavaScript's String().
func display(v any) string {
	if v == nil {
		return ""
	}
	return jsString(v)
}

// jsString is JavaScript's String(v), except that null is "undefined" too.
func jsString(v any) string {
	switch x := v.(type) {
	case nil:
		return "undefined"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case float64:
		return jsnum.Format(x)
	case string:
		return x
	case []any:
		var b strings.Builder
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if e != nil {
				b.WriteString(jsString(e))
			}
		}
		return b.String()
	case map[string]any:
		return "[object Object]"
	case *regexValue:
		return "/" + x.source + "/" + x.flags
	}
	return fmt.Sprint(v)
}

// toNumber is JavaScript's ToNumber (undefined and null both give NaN).
func toNumber(v any) float64 {
	switch x := v.(type) {
	case nil:
		return math.NaN()
	case bool:
		if x {
			return 1
		}
		return 0
	case float64:
		return x
	case string:
		return stringToNumber(x)
	case []any:
		return stringToNumber(jsString(x))
	}
	return math.NaN()
}

func stringToNumber(s string) float64 {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	switch s {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		n, err := strconv.ParseUint(s[2:], 16, 64)
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789+-.eE", c) {
			return math.NaN()
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// toPrimitive is JavaScript's ToPrimitive with the default hint: arrays,
// objects and regular expressions become strings.
func toPrimitive(v any) any {
	switch v.(type) {
	case []any, map[string]any, *regexValue:
		return jsString(v)
	}
	return v
}

// strictEqual is ===. Arrays and objects compare by content (JavaScript
// compares them by identity; content is the useful reading here).
func strictEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case *regexValue:
		y, ok := b.(*regexValue)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

// looseEqual is ==, with JavaScript's coercions between numbers, strings and
// booleans.
func looseEqual(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if sameKind(a, b) {
		return strictEqual(a, b)
	}
	if ab, ok := a.(bool); ok {
		return looseEqual(toNumber(ab), b)
	}
	if bb, ok := b.(bool); ok {
		return looseEqual(a, toNumber(bb))
	}
	pa, pb := toPrimitive(a), toPrimitive(b)
	if !sameKind(pa, a) || !sameKind(pb, b) {
		return looseEqual(pa, pb)
	}
	if isNumber(a) || isNumber(b) {
		return toNumber(a) == toNumber(b)
	}
	return false
}

func sameKind(a, b any) bool {
	return typeName(a) == typeName(b)
}

func isNumber(v any) bool {
	_, ok := v.(float64)
	return ok
}

// compareValues reports a op b (op is <, >, <= or >=) with JavaScript's rules: two strings compare by
// code points, anything else as numbers (NaN compares false).
func compareValues(op string, a, b any) bool {
	pa, pb := toPrimitive(a), toPrimitive(b)
	sa, aok := pa.(string)
	sb, bok := pb.(string)
	if aok && bok {
		switch op {
		case "<":
			return sa < sb
		case ">":
			return sa > sb
		case "<=":
			return sa <= sb
		case ">=":
			return sa >= sb
		}
		return false
	}
	x, y := toNumber(pa), toNumber(pb)
	switch op {
	case "<":
		return x < y
	case ">":
		return x > y
	case "<=":
		return x <= y
	case ">=":
		return x >= y
	}
	return false
}

// jsonValue prepares a value for encoding/json the way JSON.stringify sees
// it: NaN and infinities become null, regular expressions {}.
func jsonValue(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case *regexValue:
		return map[string]any{}
	}
	return v
}

// toJSON is JSON.stringify(v, null, indent). Object keys come out sorted
// (JavaScript keeps insertion order, which YAML decoding does not preserve).
// ok is false for undefined, which JSON.stringify does not encode.
func toJSON(v any, indent string) (string, bool, error) {
	if v == nil {
		return "", false, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	if err := enc.Encode(jsonValue(v)); err != nil {
		return "", false, fmt.Errorf("dump: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), true, nil
}

// toInteger is JavaScript's ToIntegerOrInfinity clamped to int.
func toInteger(v any) int {
	f := toNumber(v)
	if math.IsNaN(f) {
		return 0
	}
	f = math.Trunc(f)
	if f > math.MaxInt32 {
		return math.MaxInt32
	}
	if f < math.MinInt32 {
		return math.MinInt32
	}
	return int(f)
}
