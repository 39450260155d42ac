package templates

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Limits of the template YAML reader.
const (
	// MaxTemplateSize is the largest template file Parse accepts.
	MaxTemplateSize = 1 << 20
	// MaxYAMLDepth is the deepest nesting of mappings and sequences.
	MaxYAMLDepth = 64
)

// decodeYAML reads exactly one YAML document into JSON-shaped values
// (map[string]any, []any, string, int64, float64, bool, nil). It refuses
// anchors and aliases (no alias bombs, and no shared values to surprise
// anyone), duplicate keys, custom tags, nesting deeper than MaxYAMLDepth
// and input larger than MaxTemplateSize. Timestamps stay strings.
func decodeYAML(data []byte) (any, error) {
	docs, err := decodeYAMLDocuments(data)
	if err != nil {
		return nil, err
	}
	switch len(docs) {
	case 0:
		return nil, errors.New("file holds no YAML document")
	case 1:
	default:
		return nil, fmt.Errorf("file holds %d YAML documents; a template file must hold exactly one", len(docs))
	}
	return yamlValue(docs[0], 0)
}

func yamlValue(n *yaml.Node, depth int) (any, error) {
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) != 1 {
			return nil, fmt.Errorf("line %d: empty document", n.Line)
		}
		return yamlValue(n.Content[0], depth)
	}
	if n.Kind == yaml.AliasNode {
		return nil, fmt.Errorf("line %d: YAML aliases (*%s) are not allowed", n.Line, n.Value)
	}
	if n.Anchor != "" {
		return nil, fmt.Errorf("line %d: YAML anchors (&%s) are not allowed", n.Line, n.Anchor)
	}
	switch n.Kind {
	case yaml.MappingNode:
		if depth >= MaxYAMLDepth {
			return nil, fmt.Errorf("line %d: nesting deeper than %d levels", n.Line, MaxYAMLDepth)
		}
		if n.Tag != "" && n.ShortTag() != "!!map" {
			return nil, fmt.Errorf("line %d: YAML tag %s is not supported", n.Line, n.Tag)
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping keys must be scalars", k.Line)
			}
			if k.Anchor != "" {
				return nil, fmt.Errorf("line %d: YAML anchors (&%s) are not allowed", k.Line, k.Anchor)
			}
			if k.ShortTag() == "!!merge" {
				return nil, fmt.Errorf("line %d: YAML merge keys (<<) are not allowed", k.Line)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			val, err := yamlValue(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = val
		}
		return m, nil
	case yaml.SequenceNode:
		if depth >= MaxYAMLDepth {
			return nil, fmt.Errorf("line %d: nesting deeper than %d levels", n.Line, MaxYAMLDepth)
		}
		if n.Tag != "" && n.ShortTag() != "!!seq" {
			return nil, fmt.Errorf("line %d: YAML tag %s is not supported", n.Line, n.Tag)
		}
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := yamlValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case yaml.ScalarNode:
		return yamlScalar(n)
	}
	return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

func yamlScalar(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, nil
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, fmt.Errorf("line %d: invalid boolean %q", n.Line, n.Value)
		}
		return b, nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err == nil {
			return i, nil
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: invalid integer %q", n.Line, n.Value)
		}
		return f, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, fmt.Errorf("line %d: invalid number %q", n.Line, n.Value)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("line %d: %s is not a JSON number", n.Line, strconv.Quote(n.Value))
		}
		return f, nil
	}
	return nil, fmt.Errorf("line %d: YAML tag %s is not supported", n.Line, n.Tag)
}

// decodeYAMLDocuments splits data into its non-empty YAML documents, with
// the limits of decodeYAML on the whole input.
func decodeYAMLDocuments(data []byte) ([]*yaml.Node, error) {
	if len(data) > MaxTemplateSize {
		return nil, fmt.Errorf("file is %d bytes, larger than the limit of %d bytes", len(data), MaxTemplateSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("invalid YAML: %w", err)
		}
		if n.Kind == yaml.DocumentNode && (len(n.Content) == 0 || emptyScalar(n.Content[0])) {
			continue
		}
		docs = append(docs, &n)
	}
}

// emptyScalar is the null of a document holding nothing but comments.
func emptyScalar(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && n.Value == ""
}
