package templates

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// stepLabel is the ` (id "x")` a validator path carries after a step's
// index, for people; Position skips it.
var stepLabel = regexp.MustCompile(` \(id "(?:[^"\\]|\\.)*"\)`)

// Position returns the line and column (from 1) of the field path names in
// the document, for reports that point at it (SARIF, JSON). Paths are the
// validator's: relative to spec (steps[2].input.url, parameters[0],
// output.links) or to the document (spec.type, metadata.name), with keys
// as .key or ["key"] and indexes as [n]. A field that is absent points at
// the nearest one above it that is present; a path that names nothing in
// the document, or a document that was not parsed, gives the document's
// first line and column 0 (unknown).
func (d Document) Position(path string) (line, col int) {
	line = d.Line
	if d.node == nil || len(d.node.Content) == 0 {
		return line, 0
	}
	root := d.node.Content[0]
	segs := pathSegments(stepLabel.ReplaceAllString(path, ""))
	best, depth := followPath(root, segs)
	if spec := mapValue(root, "spec"); spec != nil {
		if n, dd := followPath(spec, segs); dd > depth {
			best, depth = n, dd
		}
	}
	if depth == 0 {
		return line, 0
	}
	return best.Line, best.Column
}

// segment is one step of a path: a mapping key or a sequence index.
type segment struct {
	key   string
	index int // -1 for a key
}

// pathSegments splits a.b[2]["c.d"] into a, b, [2], c.d.
func pathSegments(path string) []segment {
	var out []segment
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case strings.HasPrefix(path, `["`):
			end := strings.Index(path, `"]`)
			if end < 0 {
				return append(out, segment{key: path[2:], index: -1})
			}
			key, err := strconv.Unquote(path[1 : end+1])
			if err != nil {
				key = path[2:end]
			}
			out = append(out, segment{key: key, index: -1})
			path = path[end+2:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return out
			}
			i, err := strconv.Atoi(path[1:end])
			if err != nil {
				return out
			}
			out = append(out, segment{index: i})
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			out = append(out, segment{key: path[:end], index: -1})
			path = path[end:]
		}
	}
	return out
}

// followPath follows segs from n as far as they go: the node reached (a
// mapping key's key node, so that a report points at "url:", or a
// sequence item) and how many segments it followed.
func followPath(n *yaml.Node, segs []segment) (*yaml.Node, int) {
	at, depth := n, 0
	for _, s := range segs {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var key, next *yaml.Node
		switch {
		case s.index >= 0 && n.Kind == yaml.SequenceNode && s.index < len(n.Content):
			next = n.Content[s.index]
			key = next
		case s.index < 0 && n.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s.key {
					key, next = n.Content[i], n.Content[i+1]
				}
			}
		}
		if next == nil {
			break
		}
		at, n = key, next
		depth++
	}
	return at, depth
}

// mapValue is the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
