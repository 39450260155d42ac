// Package yamlsafe reads YAML written by users defensively: anchors and
// aliases (alias bombs), duplicate keys, non-string keys, excessive
// nesting, over-long strings and NUL characters are rejected with the line
// and column before any large structure is built. It is pure: no I/O, no
// rigger imports.
package yamlsafe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits bound one document.
type Limits struct {
	MaxDepth        int
	MaxStringLength int
}

// Problem is one rejected construct, with its place.
type Problem struct {
	Line, Column int
	Path         string
	Message      string
}

func (p Problem) Error() string {
	s := fmt.Sprintf("line %d:%d", p.Line, p.Column)
	if p.Path != "" {
		s += ": " + p.Path
	}
	return s + ": " + p.Message
}

// Document is one YAML document of a stream: its node (nil when the document
// is empty or holds only comments) and where it starts.
type Document struct {
	Node *yaml.Node
	Line int
}

// Documents splits a stream into documents. A syntax error ends the stream:
// the documents before it are returned with the error.
func Documents(data []byte) ([]Document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Document
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		d := Document{Line: n.Line}
		if len(n.Content) > 0 {
			root := n.Content[0]
			if !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
				d.Node = root
			}
		}
		out = append(out, d)
	}
}

// Screen checks a node tree against lim and returns every problem found.
func Screen(n *yaml.Node, lim Limits) []Problem {
	var out []Problem
	screen(n, lim, "", 0, &out)
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func screen(n *yaml.Node, lim Limits, path string, depth int, out *[]Problem) {
	add := func(m *yaml.Node, p, format string, args ...any) {
		*out = append(*out, Problem{Line: m.Line, Column: m.Column, Path: p, Message: fmt.Sprintf(format, args...)})
	}
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		add(n, path, "YAML anchors and aliases are not allowed")
		return
	}
	if lim.MaxDepth > 0 && depth > lim.MaxDepth {
		add(n, path, "nested deeper than %d levels", lim.MaxDepth)
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				add(k, path, "mapping keys must be strings")
				continue
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				add(k, path, "YAML merge keys are not allowed")
				continue
			}
			if line, dup := seen[k.Value]; dup {
				add(k, join(path, k.Value), "duplicate key (first set on line %d)", line)
				continue
			}
			seen[k.Value] = k.Line
			if lim.MaxStringLength > 0 && len(k.Value) > lim.MaxStringLength {
				add(k, path, "key longer than %d characters", lim.MaxStringLength)
				continue
			}
			if strings.IndexByte(k.Value, 0) >= 0 {
				add(k, path, "key holds a NUL character (\\0)")
				continue
			}
			screen(v, lim, join(path, k.Value), depth+1, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			screen(c, lim, fmt.Sprintf("%s[%d]", path, i), depth+1, out)
		}
	case yaml.ScalarNode:
		if lim.MaxStringLength > 0 && len(n.Value) > lim.MaxStringLength {
			add(n, path, "value is %d characters long, more than the limit of %d", len(n.Value), lim.MaxStringLength)
		}
		// A NUL is never text anyone meant (YAML writes it "\0"), and
		// PostgreSQL's text refuses it: refused here, where the line is known.
		if strings.IndexByte(n.Value, 0) >= 0 {
			add(n, path, "value holds a NUL character (\\0)")
		}
	}
}

// Value converts a screened node into plain Go values: map[string]any,
// []any, string, int64/float64, bool, nil. Timestamps stay strings (as in
// JSON), and so do values YAML 1.1 would have turned into booleans.
func Value(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := Value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := Value(c)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		return l, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return n.Value, nil
			}
			return b, nil
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				return i, nil
			}
			return n.Value, nil
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return f, nil
			}
			return n.Value, nil
		default:
			return n.Value, nil
		}
	default:
		return nil, fmt.Errorf("line %d:%d: unsupported YAML node", n.Line, n.Column)
	}
}
