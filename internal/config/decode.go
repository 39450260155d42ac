package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder fills a Config from a screened YAML node tree (no anchors, aliases,
// duplicate or non-string keys), checking the tree against the Config type as
// it goes, so that every problem is reported with its place and key path. It
// substitutes environment references in scalars before converting them.
type decoder struct {
	file     string
	lookup   func(string) (string, bool)
	problems problems
	// set records the dotted key path of every value the file gave (list
	// items included), so that Load can resolve the file's relative paths
	// and leave defaults alone.
	set map[string]bool
	// lines records the line of each key path's key (or list item).
	lines map[string]int
}

// listItemDefaulter is implemented by list item types that have defaults of
// their own (a github integration's host).
type listItemDefaulter interface{ defaultListItem() }

func isDuration(t reflect.Type) bool { return t == reflect.TypeFor[time.Duration]() }

func (d *decoder) add(n *yaml.Node, path, format string, args ...any) {
	if d.problems.full() {
		d.problems.extra++ // no message to build
		return
	}
	d.problems.add(&Problem{
		File: d.file, Line: n.Line, Column: n.Column, Path: path, Message: fmt.Sprintf(format, args...),
	})
}

func (d *decoder) decodeRoot(root *yaml.Node, cfg *Config) {
	if root.Kind != yaml.MappingNode {
		d.add(root, "", "the file must be a mapping of sections (server:, temporal:, ...), got %s", describe(root))
		return
	}
	d.decode(root, reflect.ValueOf(cfg).Elem(), "")
}

// decode stores n into v. A null leaves v as it is (its default).
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	if d.set != nil {
		d.set[path] = true
	}
	if n.Style&yaml.TaggedStyle != 0 && !standardTag(n.Tag) {
		d.add(n, path, "YAML tag %s is not supported", quote(n.Tag))
		return
	}
	switch {
	case v.Type() == reflect.TypeFor[JSONSchema]():
		d.decodeSchema(n, v, path)
	case isDuration(v.Type()) || v.Kind() != reflect.Struct && v.Kind() != reflect.Slice:
		d.scalar(n, v, path)
	case v.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	default:
		d.list(n, v, path)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.add(n, path, "expected a mapping, got %s", describe(n))
		return
	}
	t := v.Type()
	var names []string
	fields := map[string]int{} // key -> field index
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !t.Field(i).IsExported() {
			continue
		}
		names = append(names, name)
		fields[name] = i
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		field, ok := fields[k.Value]
		if !ok && d.problems.full() {
			d.problems.extra++
			continue
		}
		if !ok {
			msg := "unknown key"
			if s := suggest(k.Value, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (known keys: " + strings.Join(names, ", ") + ")"
			}
			d.add(k, join(path, displayKey(k.Value)), "%s", msg)
			continue
		}
		if d.lines != nil {
			d.lines[join(path, k.Value)] = k.Line
		}
		d.decode(val, v.Field(field), join(path, k.Value))
	}
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		hint := ""
		if n.Kind == yaml.ScalarNode {
			hint = " (write [a, b] or one \"- item\" line per item)"
		}
		d.add(n, path, "expected a list, got %s%s", describe(n), hint)
		return
	}
	// A list replaces the default list.
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		e := s.Index(i)
		if def, ok := e.Addr().Interface().(listItemDefaulter); ok {
			def.defaultListItem()
		}
		p := fmt.Sprintf("%s[%d]", path, i)
		if d.lines != nil {
			d.lines[p] = item.Line
		}
		d.decode(item, e, p)
	}
	v.Set(s)
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if n.Kind != yaml.ScalarNode {
		hint := ""
		if n.Kind == yaml.MappingNode && len(n.Content) > 0 && strings.HasPrefix(n.Content[0].Value, "$") {
			hint = " (rigger reads the environment with ${VAR}, not $env or $file)"
		}
		d.add(n, path, "expected %s, got %s%s", scalarName(t), describe(n), hint)
		return
	}
	val, substituted, errs := substitute(n.Value, d.lookup)
	for _, e := range errs {
		d.add(n, path, "%s", e)
	}
	if len(errs) > 0 {
		return
	}
	// Never quote a substituted value: it may be a secret set by mistake.
	shown := quote(val)
	if substituted {
		shown = "the value of " + quote(n.Value)
	}
	switch {
	case isDuration(t):
		dur, err := time.ParseDuration(val)
		if err != nil {
			d.add(n, path, "%s is not a duration (like 90s or 5m)", shown)
			return
		}
		v.SetInt(int64(dur))
	case t.Kind() == reflect.String:
		v.SetString(val)
	case t.Kind() == reflect.Bool:
		switch val {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.add(n, path, "%s is not a boolean (true or false)", shown)
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		i, err := parseWhole(val, t.Bits())
		if err != nil {
			d.add(n, path, "%s %s", shown, err)
			return
		}
		v.SetInt(i)
	default:
		d.add(n, path, "cannot decode into a field of type %s", t) // a bug in Config
	}
}

// parseWhole parses a decimal whole number; underscores may group digits
// (4_194_304). Leading zeros do not mean octal.
func parseWhole(s string, bits int) (int64, error) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || digits[0] == '_' || digits[len(digits)-1] == '_' || strings.Contains(digits, "__") {
		return 0, fmt.Errorf("is not a whole number")
	}
	for _, c := range digits {
		if (c < '0' || c > '9') && c != '_' {
			return 0, fmt.Errorf("is not a whole number")
		}
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("is out of range")
	}
	return i, nil
}

func standardTag(tag string) bool {
	switch tag {
	case "!!str", "!!int", "!!bool", "!!float", "!!null", "!!map", "!!seq":
		return true
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	}
	return "a string"
}

func scalarName(t reflect.Type) string {
	switch {
	case isDuration(t):
		return "a duration (like 90s or 5m)"
	case t.Kind() == reflect.Bool:
		return "a boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "a whole number"
	}
	return "a string"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// displayKey shows a key in a path: as written if it is a plain word, quoted
// (and shortened) otherwise.
func displayKey(k string) string {
	if len(k) == 0 || len(k) > 64 {
		return quote(k)
	}
	for _, c := range k {
		if !(c == '_' || c == '-' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return quote(k)
		}
	}
	return k
}

// suggest returns the known key closest to key when it is close enough to
// be a likely typo. Case, '-' and '_' are ignored, so baseURL and base_url
// both suggest baseUrl.
func suggest(key string, known []string) string {
	if len(key) > 64 {
		return ""
	}
	norm := func(s string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(s))
	}
	nk := norm(key)
	best, bestD := "", -1
	for _, k := range known {
		d := distance(nk, norm(k))
		if d > min(2, max(1, len(k)/3)) {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
