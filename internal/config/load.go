package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// MaxFileBytes caps rigger.yaml.
const MaxFileBytes = 1 << 20

// Load returns the defaults overlaid with the file at path ("" = defaults
// only), ${VAR} references resolved through lookupEnv. It does not validate:
// callers apply flags, then call Validate.
func Load(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	if path == "" {
		return Default(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return Parse(path, data, lookupEnv)
}

// Parse is Load from bytes; name is used in messages.
func Parse(name string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", name, MaxFileBytes)
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, nil // empty file: defaults
		}
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d:%d: only one YAML document is allowed", name, extra.Line, extra.Column)
	}
	if len(doc.Content) == 0 {
		return cfg, nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfg, nil
	}
	w := &walker{file: name, env: lookupEnv}
	w.screen(root, 0)
	if len(w.errs) > 0 {
		return nil, errors.Join(w.errs...)
	}
	w.check(root, reflect.TypeOf(*cfg), "")
	if len(w.errs) > 0 {
		return nil, errors.Join(w.errs...)
	}
	if err := root.Decode(cfg); err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return cfg, nil
}

// walker checks a YAML node tree against the Config type before decoding, so
// every problem is reported with its place and key path, and substitutes
// ${VAR} references in scalars.
type walker struct {
	file string
	env  func(string) (string, bool)
	errs []error
}

// maxDepth bounds nesting; the real structure is at most five levels deep.
const maxDepth = 32

// screen rejects anchors, aliases (alias bombs, merge keys) and absurd
// nesting anywhere in the document, known keys or not.
func (w *walker) screen(n *yaml.Node, depth int) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		w.errorf(n, "", "YAML anchors and aliases are not allowed")
		return
	}
	if depth > maxDepth {
		w.errorf(n, "", "nested deeper than %d levels", maxDepth)
		return
	}
	for _, c := range n.Content {
		w.screen(c, depth+1)
	}
}

func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	where := fmt.Sprintf("%s:%d:%d", w.file, n.Line, n.Column)
	if path != "" {
		where += ": " + path
	}
	w.errs = append(w.errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
}

var (
	durationType = reflect.TypeOf(time.Duration(0))
	envRef       = regexp.MustCompile(`\$\$\{[^}]*\}|\$\{([^}]*)\}`)
	envName      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	default:
		return "a scalar"
	}
}

func (w *walker) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // leaves the default
	}
	switch {
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.errorf(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		fields := map[string]reflect.StructField{}
		var names []string
		for i := range t.NumField() {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			fields[tag] = f
			names = append(names, tag)
		}
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			sub := join(path, key)
			if line, dup := seen[key]; dup {
				w.errorf(k, sub, "duplicate key (first set on line %d)", line)
				continue
			}
			seen[key] = k.Line
			f, ok := fields[key]
			if !ok {
				msg := "unknown key"
				if s := suggest(key, names); s != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", s)
				} else {
					msg += fmt.Sprintf(" (known keys: %s)", strings.Join(names, ", "))
				}
				w.errorf(k, sub, "%s", msg)
				continue
			}
			w.check(v, f.Type, sub)
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.errorf(n, path, "expected a list, got %s", kindName(n))
			return
		}
		for i, item := range n.Content {
			w.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	default:
		if n.Kind != yaml.ScalarNode {
			w.errorf(n, path, "expected a %s, got %s", scalarName(t), kindName(n))
			return
		}
		if !w.substitute(n, path) {
			return
		}
		w.checkScalar(n, t, path)
	}
}

func scalarName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Bool:
		return "boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "whole number"
	default:
		return "string"
	}
}

// substitute replaces ${VAR} (and the $${VAR} escape) in a scalar. A plain
// scalar is re-resolved afterwards so `port: ${PORT}` can become a number.
func (w *walker) substitute(n *yaml.Node, path string) bool {
	if !strings.Contains(n.Value, "${") {
		return true
	}
	ok := true
	out := envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
		if strings.HasPrefix(m, "$$") {
			return m[1:]
		}
		name := m[2 : len(m)-1]
		if !envName.MatchString(name) {
			w.errorf(n, path, "%q is not a valid environment variable reference", m)
			ok = false
			return m
		}
		v, found := w.env(name)
		if !found {
			w.errorf(n, path, "environment variable %q is not set", name)
			ok = false
			return m
		}
		return v
	})
	n.Value = out
	if n.Style == 0 {
		n.Tag = "" // re-resolve: a substituted number or boolean gets its type
		n.Tag = n.ShortTag()
	}
	return ok
}

func (w *walker) checkScalar(n *yaml.Node, t reflect.Type, path string) {
	v := n.Value
	switch {
	case t == durationType:
		d, err := time.ParseDuration(v)
		if err != nil {
			w.errorf(n, path, "%q is not a duration (like 90s or 5m)", v)
			return
		}
		if d < 0 {
			w.errorf(n, path, "duration %q is negative", v)
		}
		n.Tag = "!!str"
	case t.Kind() == reflect.Bool:
		if n.ShortTag() != "!!bool" {
			w.errorf(n, path, "%q is not a boolean (true or false)", v)
		}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		if _, err := strconv.ParseInt(strings.ReplaceAll(v, "_", ""), 0, t.Bits()); err != nil || n.ShortTag() != "!!int" {
			w.errorf(n, path, "%q is not a whole number", v)
		}
	case t.Kind() == reflect.String:
		n.Tag = "!!str" // `name: 123` or `enabled: yes` in a string field stay strings
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// suggest returns the known key closest to key, if it is close enough to be a
// likely typo.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(key), strings.ToLower(k)); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
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
