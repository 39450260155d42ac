package catalog

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// Limits bound what one file may make rigger parse. Zero disables a limit.
type Limits struct {
	// DocumentBytes bounds the whole file, every YAML document in it.
	DocumentBytes int
	// EntityBytes bounds one entity, measured as compact JSON (what a store
	// keeps), before any Go map of it is built.
	EntityBytes int
	// MaxDepth bounds nesting (the document's root mapping is depth 0).
	MaxDepth int
	// MaxEntities bounds the documents of one file.
	MaxEntities int
	// MaxStringLength bounds every scalar and key, in bytes.
	MaxStringLength int
}

// DefaultLimits are the limits used when config sets none.
func DefaultLimits() Limits {
	return Limits{DocumentBytes: 4 << 20, EntityBytes: 1 << 20, MaxDepth: 64, MaxEntities: 100000, MaxStringLength: 65536}
}

// Validate reports limits that make no sense.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"documentBytes", l.DocumentBytes}, {"entityBytes", l.EntityBytes}, {"maxDepth", l.MaxDepth}, {"maxEntities", l.MaxEntities}, {"maxStringLength", l.MaxStringLength}} {
		if f.v < 0 {
			return fmt.Errorf("catalog limit %s must not be negative, got %d", f.name, f.v)
		}
	}
	return nil
}

// ValidationError is one problem with a catalog file: which file, which
// document (0-based; -1 when it concerns the whole file), the line where
// the document starts or the problem sits, the field path and what is
// wrong. Its text numbers documents from 1, as editors show them:
//
//	catalog-info.yaml: document 2 (line 9): spec.owner: required field is missing
//
// It unwraps to errs.ErrInvalid.
type ValidationError struct {
	File    string
	Doc     int
	Line    int
	Path    string
	Message string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Doc >= 0 {
		b.WriteString(": document ")
		b.WriteString(strconv.Itoa(e.Doc + 1))
	}
	if e.Line > 0 {
		if e.Doc >= 0 {
			b.WriteString(" (line ")
		} else {
			b.WriteString(": line ")
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Doc >= 0 {
			b.WriteByte(')')
		}
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Unwrap makes every validation error an errs.ErrInvalid.
func (e *ValidationError) Unwrap() error { return errs.ErrInvalid }

// Doc is the outcome of one non-empty YAML document: an entity, or the
// reasons it was rejected. Ingestion keeps the good documents of a file and
// reports the bad ones.
type Doc struct {
	Index int // 0-based index among the file's documents, empty ones included
	Line  int // where the document starts
	// Ref is the document's entity ref (Ref.String) when kind and
	// metadata.name are readable, even if the document is invalid, so a
	// store can keep the last good version of that entity.
	Ref string
	// Entity is the validated, normalized entity; nil when Errors is not
	// empty.
	Entity Entity
	Errors []*ValidationError
}

// Parse reads every document of a catalog file (YAML or JSON) with the
// default Policy. See ParseWith.
func Parse(file string, data []byte, lim Limits) ([]Doc, error) {
	return ParseWith(file, data, lim, Policy{})
}

// ParseWith reads every document of a catalog file (YAML, or JSON, which is
// YAML) and validates each as an entity. Empty and comment-only documents
// are skipped, as Backstage does. Anchors and aliases, merge keys,
// duplicate keys, non-string keys, nesting deeper than lim.MaxDepth and
// over-long strings are rejected on the YAML node tree, before any Go value
// is built. A second document defining an entity ref the file already
// defined is rejected.
//
// A problem with the file as a whole (too big, too many documents, a YAML
// syntax error) is returned as err, a *ValidationError; with a syntax error
// the documents before it are still returned.
func ParseWith(file string, data []byte, lim Limits, p Policy) ([]Doc, error) {
	if lim.DocumentBytes > 0 && len(data) > lim.DocumentBytes {
		return nil, &ValidationError{File: file, Doc: -1, Message: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), lim.DocumentBytes)}
	}
	var out []Doc
	var tooMany error
	first := map[string]int{}
	read := 0 // documents read, empty ones included
	// Each document is validated as it is read, so the node trees of a
	// file are not all held at once.
	syntaxErr := yamlsafe.EachDocument(data, func(d yamlsafe.Document) bool {
		i := read
		read++
		if d.Node == nil {
			return true
		}
		if lim.MaxEntities > 0 && len(out) >= lim.MaxEntities {
			tooMany = &ValidationError{File: file, Doc: -1, Message: fmt.Sprintf("more than %d entities in one file", lim.MaxEntities)}
			return false
		}
		doc := parseDoc(file, i, d, lim, p)
		if doc.Entity != nil {
			if j, dup := first[doc.Ref]; dup {
				doc.Entity = nil
				doc.Errors = append(doc.Errors, &ValidationError{File: file, Doc: i, Line: doc.Line,
					Message: fmt.Sprintf("entity %s is already defined by document %d of this file", doc.Ref, j+1)})
			} else {
				first[doc.Ref] = i
			}
		}
		out = append(out, doc)
		return true
	})
	if tooMany != nil {
		return nil, tooMany
	}
	if syntaxErr != nil {
		return out, &ValidationError{File: file, Doc: read, Message: "YAML syntax error: " + syntaxErr.Error()}
	}
	return out, nil
}

func parseDoc(file string, idx int, d yamlsafe.Document, lim Limits, p Policy) Doc {
	doc := Doc{Index: idx, Line: d.Node.Line}
	fail := func(line int, path, msg string) {
		doc.Errors = append(doc.Errors, &ValidationError{File: file, Doc: idx, Line: line, Path: path, Message: msg})
	}
	if d.Node.Kind != yaml.MappingNode {
		fail(d.Node.Line, "", "a catalog document must be a mapping with apiVersion, kind and metadata, got "+nodeKind(d.Node))
		return doc
	}
	if probs := yamlsafe.Screen(d.Node, yamlsafe.Limits{MaxDepth: lim.MaxDepth, MaxStringLength: lim.MaxStringLength}); len(probs) > 0 {
		for _, pr := range probs {
			fail(pr.Line, pr.Path, pr.Message)
		}
		return doc
	}
	if !hasKey(d.Node, "apiVersion") && !hasKey(d.Node, "kind") {
		// Not a catalog entity at all (/etc/shadow read as YAML makes each
		// line a key): one problem, which repeats none of its content —
		// the server reports these to callers who may not read the file.
		fail(d.Node.Line, "", "not a catalog entity: the document has neither apiVersion nor kind (its content is not shown)")
		return doc
	}
	size, bad := measure(d.Node, "", lim.EntityBytes)
	if bad != nil {
		fail(bad.Line, bad.Path, bad.Message)
		return doc
	}
	if lim.EntityBytes > 0 && size > lim.EntityBytes { // measure stops early: size is a lower bound
		fail(d.Node.Line, "", fmt.Sprintf("entity as JSON is more than the limit of %d bytes", lim.EntityBytes))
		return doc
	}
	v, err := yamlsafe.Value(d.Node)
	if err != nil {
		fail(d.Node.Line, "", err.Error())
		return doc
	}
	e := Entity(v.(map[string]any))
	if k, n := e.Kind(), e.Name(); k != "" && n != "" {
		doc.Ref = e.Ref().String()
	}
	for _, fe := range ValidateWith(e, p) {
		fail(pathLine(d.Node, fe.Path), fe.Path, fe.Message)
	}
	if len(doc.Errors) == 0 {
		if _, probs := p.Model.Relations(e); len(probs) > 0 {
			for _, fe := range probs {
				fail(pathLine(d.Node, fe.Path), fe.Path, fe.Message)
			}
		}
	}
	if len(doc.Errors) == 0 {
		e.Normalize()
		fieldOrder(d.Node, e)
		doc.Entity = e
	}
	return doc
}

// pathLine is the line of the field at path (spec.ports[1].number) in the
// document root: the line of its key, or of the deepest enclosing field
// that is written (a missing spec.owner points at spec:), or the document's
// first line. Keys may hold dots (metadata.annotations.backstage.io/x): the
// longest key that matches wins.
func pathLine(root *yaml.Node, path string) int {
	line, n, rest := root.Line, root, path
	for rest != "" && n != nil {
		switch {
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			i, err := strconv.Atoi(rest[1:max(end, 1)])
			if end < 0 || err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return line
			}
			n, rest = n.Content[i], rest[end+1:]
			line = n.Line
		case n.Kind == yaml.MappingNode:
			rest = strings.TrimPrefix(rest, ".")
			var key, val *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if (rest == k || strings.HasPrefix(rest, k) && (rest[len(k)] == '.' || rest[len(k)] == '[')) && (key == nil || len(k) > len(key.Value)) {
					key, val = n.Content[i], n.Content[i+1]
				}
			}
			if key == nil {
				return line
			}
			n, rest, line = val, rest[len(key.Value):], key.Line
		default:
			return line
		}
	}
	return line
}

// hasKey says whether mapping node m has key (as written).
func hasKey(m *yaml.Node, key string) bool { return child(m, key) != nil }

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a scalar"
	case yaml.AliasNode:
		return "an alias"
	}
	return "something else"
}

// measure returns the size of the screened node tree as compact JSON
// (encoding/json's output, with its HTML escaping), stopping early once it
// passes limit (when limit > 0). It reports numbers JSON cannot hold.
func measure(n *yaml.Node, path string, limit int) (int, *yamlsafe.Problem) {
	m := measurer{limit: limit}
	m.node(n, path)
	return m.size, m.bad
}

type measurer struct {
	size, limit int
	bad         *yamlsafe.Problem
}

func (m *measurer) over() bool { return m.bad != nil || (m.limit > 0 && m.size > m.limit) }

func (m *measurer) node(n *yaml.Node, path string) {
	if m.over() {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		m.size += 2 + max(len(n.Content)/2-1, 0) // braces, commas
		for i := 0; i+1 < len(n.Content); i += 2 {
			m.size += jsonStringLen(n.Content[i].Value) + 1
			m.node(n.Content[i+1], joinKey(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		m.size += 2 + max(len(n.Content)-1, 0)
		for i, c := range n.Content {
			m.node(c, path+"["+strconv.Itoa(i)+"]")
		}
	case yaml.ScalarNode:
		v, err := yamlsafe.Value(n)
		if err != nil {
			m.bad = &yamlsafe.Problem{Line: n.Line, Column: n.Column, Path: path, Message: err.Error()}
			return
		}
		switch t := v.(type) {
		case nil:
			m.size += 4
		case bool:
			m.size += len(strconv.FormatBool(t))
		case int64:
			m.size += len(strconv.FormatInt(t, 10))
		case float64:
			if math.IsNaN(t) || math.IsInf(t, 0) {
				m.bad = &yamlsafe.Problem{Line: n.Line, Column: n.Column, Path: path, Message: fmt.Sprintf("%q is not a number JSON can hold", n.Value)}
				return
			}
			m.size += jsonFloatLen(t)
		case string:
			m.size += jsonStringLen(t)
		}
	}
}

// jsonStringLen is the length of s as encoding/json writes it, quotes
// included.
func jsonStringLen(s string) int {
	n := len(s) + 2
	jsonEscapes(s, func(_, size int, esc string) { n += len(esc) - size })
	return n
}

// jsonFloatLen is the length of f as encoding/json writes a float64.
func jsonFloatLen(f float64) int {
	var buf [32]byte
	return len(appendJSONFloat(buf[:0], f))
}
