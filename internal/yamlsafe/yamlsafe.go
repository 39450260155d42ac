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
	var out []Document
	err := EachDocument(data, func(d Document) bool {
		out = append(out, d)
		return true
	})
	return out, err
}

// EachDocument calls yield with each document of the stream in turn, as it
// is read (so a caller that is done with one lets its nodes go), until
// yield returns false. A syntax error ends the stream: it is returned
// after the documents before it were yielded.
//
// Documents are read by the fast reader (fast.go) while it can. From the
// first document it declines, yaml.v3 reads the stream and yields the
// documents after those already yielded. A document is yielded only once
// the fast reader has read the next lookahead ones too: yaml.v3 scans two
// tokens past where it is before it returns a document, and fails on a
// syntax error there without returning it (each document after the first
// holds at least one token, its "---"). FuzzFastDocuments holds
// EachDocument to what yaml.v3 alone returns.
func EachDocument(data []byte, yield func(Document) bool) error {
	const lookahead = 3
	p, ok := newFastParser(data)
	yielded := 0
	if ok {
		var held []Document
		for {
			d, more := p.next()
			if !more {
				break
			}
			held = append(held, d)
			if len(held) > lookahead {
				yielded++
				if !yield(held[0]) {
					return nil
				}
				held = append(held[:0], held[1:]...)
			}
		}
		if !p.bad {
			for _, d := range held {
				if !yield(d) {
					return nil
				}
			}
			return nil
		}
	}
	return slowDocuments(data, yielded, yield)
}

// slowDocuments is EachDocument through yaml.v3, which reads all of YAML,
// past the first skip documents.
func slowDocuments(data []byte, skip int, yield func(Document) bool) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for i := 0; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if i < skip {
			continue
		}
		d := Document{Line: n.Line}
		if len(n.Content) > 0 {
			root := n.Content[0]
			if !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
				d.Node = root
			}
		}
		if !yield(d) {
			return nil
		}
	}
}

// Screen checks a node tree against lim and returns every problem found.
func Screen(n *yaml.Node, lim Limits) []Problem {
	s := screener{lim: lim}
	s.screen(n, 0)
	return s.out
}

// screener walks a node tree; path holds the keys and indexes from the
// root to the node it is at, written out only for a problem (building
// each node's path was most of a clean document's screening).
type screener struct {
	lim  Limits
	out  []Problem
	path []step
}

// step is a mapping key, or with index >= 0 a sequence item.
type step struct {
	key   string
	index int
}

// pathWith is the path to the node screened, and to key under it if
// key is set: keys joined by dots, items as [i].
func (s *screener) pathWith(key *string) string {
	var b strings.Builder
	steps := s.path
	if key != nil {
		steps = append(steps[:len(steps):len(steps)], step{key: *key, index: -1})
	}
	for _, st := range steps {
		if st.index >= 0 {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(st.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(st.key)
	}
	return b.String()
}

func (s *screener) add(m *yaml.Node, key *string, format string, args ...any) {
	s.out = append(s.out, Problem{Line: m.Line, Column: m.Column, Path: s.pathWith(key), Message: fmt.Sprintf(format, args...)})
}

// isKey says whether n counts among its mapping's keys for duplicates: a
// scalar that is not a merge key.
func isKey(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && !(n.Value == "<<" && n.Tag == "!!merge")
}

// firstLine is the line of the first key of mapping n before its i-th
// entry that is written as key is, if any.
func firstLine(n *yaml.Node, i int, key string) (int, bool) {
	for j := 0; j < i; j += 2 {
		if k := n.Content[j]; isKey(k) && k.Value == key {
			return k.Line, true
		}
	}
	return 0, false
}

// smallMapping is the most entries a mapping's duplicate keys are looked
// for by a scan of the keys before each (beyond it, through a map).
const smallMapping = 16

func (s *screener) screen(n *yaml.Node, depth int) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		s.add(n, nil, "YAML anchors and aliases are not allowed")
		return
	}
	if s.lim.MaxDepth > 0 && depth > s.lim.MaxDepth {
		s.add(n, nil, "nested deeper than %d levels", s.lim.MaxDepth)
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		var seen map[string]int
		if len(n.Content) > 2*smallMapping {
			seen = make(map[string]int, len(n.Content)/2)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				s.add(k, nil, "mapping keys must be strings")
				continue
			}
			if !isKey(k) {
				s.add(k, nil, "YAML merge keys are not allowed")
				continue
			}
			var line int
			var dup bool
			if seen != nil {
				line, dup = seen[k.Value]
			} else {
				line, dup = firstLine(n, i, k.Value)
			}
			if dup {
				s.add(k, &k.Value, "duplicate key (first set on line %d)", line)
				continue
			}
			if seen != nil {
				seen[k.Value] = k.Line
			}
			if s.lim.MaxStringLength > 0 && len(k.Value) > s.lim.MaxStringLength {
				s.add(k, nil, "key longer than %d characters", s.lim.MaxStringLength)
				continue
			}
			if strings.IndexByte(k.Value, 0) >= 0 {
				s.add(k, nil, "key holds a NUL character (\\0)")
				continue
			}
			s.path = append(s.path, step{key: k.Value, index: -1})
			s.screen(v, depth+1)
			s.path = s.path[:len(s.path)-1]
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			s.path = append(s.path, step{index: i})
			s.screen(c, depth+1)
			s.path = s.path[:len(s.path)-1]
		}
	case yaml.ScalarNode:
		if s.lim.MaxStringLength > 0 && len(n.Value) > s.lim.MaxStringLength {
			s.add(n, nil, "value is %d characters long, more than the limit of %d", len(n.Value), s.lim.MaxStringLength)
		}
		// A NUL is never text anyone meant (YAML writes it "\0"), and
		// PostgreSQL's text refuses it: refused here, where the line is known.
		if strings.IndexByte(n.Value, 0) >= 0 {
			s.add(n, nil, "value holds a NUL character (\\0)")
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
