package catalog

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riggerdev/rigger/internal/yamlsafe"
)

// Limits bound what one file may make rigger parse.
type Limits struct {
	DocumentBytes   int // the whole file
	EntityBytes     int // one entity as JSON
	MaxDepth        int
	MaxEntities     int
	MaxStringLength int
}

// DefaultLimits are the limits used when config sets none.
func DefaultLimits() Limits {
	return Limits{DocumentBytes: 4 << 20, EntityBytes: 1 << 20, MaxDepth: 64, MaxEntities: 100000, MaxStringLength: 65536}
}

// Doc is the outcome of one YAML document of a file: an entity or its errors.
type Doc struct {
	Index int // 0-based document index in the file
	Line  int
	// Ref is the document's entity ref key when kind and metadata.name are
	// readable, even if the document is invalid.
	Ref    string
	Entity Entity
	Errors []error
}

// DocError is a problem with one document: file, document index, field path.
type DocError struct {
	File  string
	Index int
	Line  int
	Path  string
	Msg   string
}

func (e *DocError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Index >= 0 {
		fmt.Fprintf(&b, ": document %d", e.Index+1)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	return b.String() + ": " + e.Msg
}

// Parse reads every document of a catalog file. Empty and comment-only
// documents are skipped. A file-level problem (size, syntax) is returned as
// err; per-document problems are in each Doc.
func Parse(file string, data []byte, lim Limits) ([]Doc, error) {
	if lim.DocumentBytes > 0 && len(data) > lim.DocumentBytes {
		return nil, &DocError{File: file, Index: -1, Msg: fmt.Sprintf("file is %d bytes, more than the limit of %d", len(data), lim.DocumentBytes)}
	}
	docs, err := yamlsafe.Documents(data)
	var out []Doc
	for i, d := range docs {
		if d.Node == nil {
			continue
		}
		out = append(out, parseDoc(file, i, d, lim))
		if lim.MaxEntities > 0 && len(out) > lim.MaxEntities {
			return nil, &DocError{File: file, Index: -1, Msg: fmt.Sprintf("more than %d entities in one location", lim.MaxEntities)}
		}
	}
	if err != nil {
		return out, &DocError{File: file, Index: len(docs), Msg: "YAML syntax error: " + err.Error()}
	}
	return out, nil
}

func parseDoc(file string, idx int, d yamlsafe.Document, lim Limits) Doc {
	doc := Doc{Index: idx, Line: d.Node.Line}
	fail := func(line int, path, msg string) {
		doc.Errors = append(doc.Errors, &DocError{File: file, Index: idx, Line: line, Path: path, Msg: msg})
	}
	if probs := yamlsafe.Screen(d.Node, yamlsafe.Limits{MaxDepth: lim.MaxDepth, MaxStringLength: lim.MaxStringLength}); len(probs) > 0 {
		for _, p := range probs {
			fail(p.Line, p.Path, p.Message)
		}
		return doc
	}
	v, err := yamlsafe.Value(d.Node)
	if err != nil {
		fail(d.Node.Line, "", err.Error())
		return doc
	}
	m, ok := v.(map[string]any)
	if !ok {
		fail(d.Node.Line, "", "a catalog document must be a mapping with apiVersion, kind and metadata")
		return doc
	}
	e := Entity(m)
	if k, n := e.Kind(), e.Name(); k != "" && n != "" {
		doc.Ref = e.Ref().Key()
	}
	if lim.EntityBytes > 0 {
		if b, _ := json.Marshal(e); len(b) > lim.EntityBytes {
			fail(d.Node.Line, "", fmt.Sprintf("entity is %d bytes as JSON, more than the limit of %d", len(b), lim.EntityBytes))
			return doc
		}
	}
	for _, fe := range Validate(e) {
		fail(d.Node.Line, fe.Path, fe.Message)
	}
	if _, probs := Relations(e); len(probs) > 0 && len(doc.Errors) == 0 {
		for _, fe := range probs {
			fail(d.Node.Line, fe.Path, fe.Message)
		}
	}
	if len(doc.Errors) == 0 {
		e.Normalize()
		doc.Entity = e
	}
	return doc
}
