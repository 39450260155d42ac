// Package jschema compiles and applies the JSON Schemas rigger's users
// write (template parameter pages, action input schemas, catalog.model),
// with santhosh-tekuri/jsonschema: draft-07 unless a schema says
// otherwise, and references only inside the schema (a remote or file $ref
// is refused, so compiling never reads or fetches anything). It turns a
// validation failure into one problem per failing leaf, at a dotted path
// (spec.ports[1].number).
//
// It is pure: no I/O, no state; it must not import any rigger package.
package jschema

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// refusingLoader refuses every schema resource.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %q cannot be loaded: only references inside the schema are allowed", url)
}

// Compile compiles one schema document, a decoded JSON value (maps with
// string keys, []any, strings, booleans, nil, json.Number or Go numbers);
// url names it in messages (rigger:///actions/x.json).
func Compile(doc any, url string) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseLoader(refusingLoader{})
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// Leaf is one failing leaf of a validation: where (prefix plus the
// instance path) and what. A missing required property is a Leaf at the
// property itself, with Missing set and the Message "required".
type Leaf struct {
	Path, Message string
	Missing       bool
}

// Leaves returns the failing leaves of err, a Validate error, located under
// prefix, without duplicates and sorted by path. Any other error is one
// Leaf at prefix with its text.
func Leaves(err error, prefix string) []Leaf {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []Leaf{{Path: prefix, Message: err.Error()}}
	}
	p := message.NewPrinter(language.English)
	seen := map[Leaf]bool{}
	var out []Leaf
	add := func(l Leaf) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		loc := Path(prefix, e.InstanceLocation)
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			for _, m := range req.Missing {
				add(Leaf{Path: Path(loc, []string{m}), Message: "required", Missing: true})
			}
			return
		}
		add(Leaf{Path: loc, Message: e.ErrorKind.LocalizedString(p)})
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Path appends JSON-pointer tokens to a dotted path, writing array indexes
// as [n] (input.files[2].path).
func Path(prefix string, tokens []string) string {
	var b strings.Builder
	b.WriteString(prefix)
	for _, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	return b.String()
}
