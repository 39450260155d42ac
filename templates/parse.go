package templates

import (
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// ParseError is a template that cannot be read: bad YAML, wrong apiVersion
// or kind, or a field of the wrong shape.
type ParseError struct {
	Source string // the name given to Parse
	Path   string // e.g. spec.steps[2].action; empty for file-level problems
	Msg    string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Parse reads a template file. name only labels error messages. The file
// must hold one YAML document of apiVersion scaffolder.backstage.io/v1beta3
// and kind Template; see decodeYAML for the YAML limits.
func Parse(name string, data []byte) (*Template, error) {
	doc, err := decodeYAML(data)
	if err != nil {
		return nil, &ParseError{Source: name, Msg: err.Error()}
	}
	return parseValue(name, doc)
}

// Document is one YAML document of a template file: its place (Index
// counts from 1, Line is where it starts) and its template, or why it is
// not one.
type Document struct {
	Index, Line int
	Template    *Template
	Err         error
	// node is the document's YAML, for Position.
	node *yaml.Node
}

// Label names the document in messages: name itself when the file holds
// one document, else "name (document 2, line 30)".
func (d Document) Label(name string, of int) string {
	if of <= 1 {
		return name
	}
	return fmt.Sprintf("%s (document %d, line %d)", name, d.Index, d.Line)
}

// ParseDocuments reads a file of one or more Template documents (separated
// by ---, as the catalog reads them). Each document is parsed on its own
// and labelled by Document.Label in its errors; a YAML syntax error ends
// the file with an error. Empty documents are ignored.
func ParseDocuments(name string, data []byte) ([]Document, error) {
	nodes, err := decodeYAMLDocuments(data)
	if err != nil {
		return nil, &ParseError{Source: name, Msg: err.Error()}
	}
	if len(nodes) == 0 {
		return nil, &ParseError{Source: name, Msg: "file holds no YAML document"}
	}
	out := make([]Document, len(nodes))
	for i, n := range nodes {
		d := Document{Index: i + 1, Line: n.Line, node: n}
		if len(n.Content) > 0 {
			d.Line = n.Content[0].Line
		}
		label := d.Label(name, len(nodes))
		if v, err := yamlValue(n, 0); err != nil {
			d.Err = &ParseError{Source: label, Msg: err.Error()}
		} else {
			d.Template, d.Err = parseValue(label, v)
		}
		out[i] = d
	}
	return out, nil
}

// parseValue reads one decoded template document; name labels errors.
func parseValue(name string, doc any) (*Template, error) {
	var err error
	p := &parser{source: name}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, p.errf("", "the document must be a mapping, got %s", shape(doc))
	}
	t := &Template{Source: name}
	if t.APIVersion, err = p.str(root, "apiVersion", "", true); err != nil {
		return nil, err
	}
	if t.Kind, err = p.str(root, "kind", "", true); err != nil {
		return nil, err
	}
	if t.Kind != Kind {
		return nil, p.errf("kind", "%q is not a template; expected kind %q", t.Kind, Kind)
	}
	if t.APIVersion != APIVersion {
		msg := fmt.Sprintf("%q is not supported; expected %q", t.APIVersion, APIVersion)
		if strings.HasPrefix(t.APIVersion, "backstage.io/") {
			msg += " (templates of apiVersion backstage.io/v1beta2 and older use a different, handlebars-style syntax and must be migrated to v1beta3)"
		}
		return nil, p.errf("apiVersion", "%s", msg)
	}
	for k := range root {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		default:
			return nil, p.errf(k, "unknown top-level field")
		}
	}
	meta, err := p.mapping(root, "metadata", "", true)
	if err != nil {
		return nil, err
	}
	if t.Metadata, err = p.metadata(meta); err != nil {
		return nil, err
	}
	spec, err := p.mapping(root, "spec", "", true)
	if err != nil {
		return nil, err
	}
	if t.Spec, err = p.spec(spec); err != nil {
		return nil, err
	}
	return t, nil
}

// parser reads typed fields out of decoded YAML with precise messages.
type parser struct{ source string }

func (p *parser) errf(path, format string, args ...any) error {
	return &ParseError{Source: p.source, Path: path, Msg: fmt.Sprintf(format, args...)}
}

func fieldPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// shape names a decoded YAML value's type for messages.
func shape(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case int64, float64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}

func (p *parser) str(m map[string]any, key, parent string, required bool) (string, error) {
	path := fieldPath(parent, key)
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			return "", p.errf(path, "required")
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", p.errf(path, "must be a string, got %s", shape(v))
	}
	if required && s == "" {
		return "", p.errf(path, "must not be empty")
	}
	return s, nil
}

func (p *parser) mapping(m map[string]any, key, parent string, required bool) (map[string]any, error) {
	path := fieldPath(parent, key)
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			return nil, p.errf(path, "required")
		}
		return nil, nil
	}
	mm, ok := v.(map[string]any)
	if !ok {
		return nil, p.errf(path, "must be a mapping, got %s", shape(v))
	}
	return mm, nil
}

func (p *parser) list(m map[string]any, key, parent string) ([]any, error) {
	v, ok := m[key]
	if !ok || v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, p.errf(fieldPath(parent, key), "must be a list, got %s", shape(v))
	}
	return l, nil
}

func (p *parser) stringMap(m map[string]any, key, parent string) (map[string]string, error) {
	mm, err := p.mapping(m, key, parent, false)
	if err != nil || mm == nil {
		return nil, err
	}
	out := make(map[string]string, len(mm))
	for k, v := range mm {
		s, ok := v.(string)
		if !ok {
			return nil, p.errf(fieldPath(fieldPath(parent, key), k), "must be a string, got %s", shape(v))
		}
		out[k] = s
	}
	return out, nil
}

func (p *parser) metadata(m map[string]any) (Metadata, error) {
	var md Metadata
	var err error
	if md.Name, err = p.str(m, "name", "metadata", true); err != nil {
		return md, err
	}
	if md.Namespace, err = p.str(m, "namespace", "metadata", false); err != nil {
		return md, err
	}
	if md.Namespace == "" {
		md.Namespace = "default"
	}
	if md.Title, err = p.str(m, "title", "metadata", false); err != nil {
		return md, err
	}
	if md.Description, err = p.str(m, "description", "metadata", false); err != nil {
		return md, err
	}
	tags, err := p.list(m, "tags", "metadata")
	if err != nil {
		return md, err
	}
	for i, tv := range tags {
		s, ok := tv.(string)
		if !ok {
			return md, p.errf(fmt.Sprintf("metadata.tags[%d]", i), "must be a string, got %s", shape(tv))
		}
		md.Tags = append(md.Tags, s)
	}
	if md.Labels, err = p.stringMap(m, "labels", "metadata"); err != nil {
		return md, err
	}
	if md.Annotations, err = p.stringMap(m, "annotations", "metadata"); err != nil {
		return md, err
	}
	if md.Links, err = p.list(m, "links", "metadata"); err != nil {
		return md, err
	}
	md.Extra = extraKeys(m, "name", "namespace", "title", "description", "tags", "labels", "annotations", "links")
	return md, nil
}

// extraKeys copies the keys of m that are not in known, or returns nil.
func extraKeys(m map[string]any, known ...string) map[string]any {
	var out map[string]any
next:
	for k, v := range m {
		for _, kn := range known {
			if k == kn {
				continue next
			}
		}
		if out == nil {
			out = map[string]any{}
		}
		out[k] = v
	}
	return out
}

func (p *parser) spec(m map[string]any) (Spec, error) {
	var s Spec
	var err error
	if s.Owner, err = p.str(m, "owner", "spec", false); err != nil {
		return s, err
	}
	if s.Type, err = p.str(m, "type", "spec", false); err != nil {
		return s, err
	}
	switch params := m["parameters"].(type) {
	case nil:
	case map[string]any:
		s.Parameters = []map[string]any{params}
	case []any:
		s.ParametersIsList = true
		for i, pg := range params {
			page, ok := pg.(map[string]any)
			if !ok {
				return s, p.errf(fmt.Sprintf("spec.parameters[%d]", i), "must be a mapping (a JSON Schema object), got %s", shape(pg))
			}
			s.Parameters = append(s.Parameters, page)
		}
	default:
		return s, p.errf("spec.parameters", "must be a mapping or a list of mappings, got %s", shape(params))
	}
	if _, ok := m["steps"]; !ok {
		return s, p.errf("spec.steps", "required")
	}
	steps, err := p.list(m, "steps", "spec")
	if err != nil {
		return s, err
	}
	for i, sv := range steps {
		path := fmt.Sprintf("spec.steps[%d]", i)
		sm, ok := sv.(map[string]any)
		if !ok {
			return s, p.errf(path, "must be a mapping, got %s", shape(sv))
		}
		st, err := p.step(sm, path)
		if err != nil {
			return s, err
		}
		s.Steps = append(s.Steps, st)
	}
	out, err := p.mapping(m, "output", "spec", false)
	if err != nil {
		return s, err
	}
	if s.Output, err = p.output(out); err != nil {
		return s, err
	}
	s.Extra = extraKeys(m, "owner", "type", "parameters", "steps", "output")
	return s, nil
}

func (p *parser) step(m map[string]any, path string) (Step, error) {
	var st Step
	var err error
	if st.ID, err = p.str(m, "id", path, false); err != nil {
		return st, err
	}
	if st.Name, err = p.str(m, "name", path, false); err != nil {
		return st, err
	}
	if st.Action, err = p.str(m, "action", path, true); err != nil {
		return st, err
	}
	if in, ok := m["input"]; ok && in != nil {
		if _, isMap := in.(map[string]any); !isMap {
			return st, p.errf(path+".input", "must be a mapping, got %s", shape(in))
		}
		st.Input = in
	}
	switch v := m["if"].(type) {
	case nil, bool, string:
		st.If = v
	default:
		return st, p.errf(path+".if", "must be a string or a boolean, got %s", shape(v))
	}
	switch v := m["each"].(type) {
	case nil, string, []any:
		st.Each = v
	default:
		return st, p.errf(path+".each", "must be an expression string or a list, got %s", shape(v))
	}
	if st.Timeout, err = p.duration(m, "timeout", path); err != nil {
		return st, err
	}
	if st.Retry, err = p.retry(m, path); err != nil {
		return st, err
	}
	st.Extra = extraKeys(m, "id", "name", "action", "input", "if", "each", "timeout", "retry")
	return st, nil
}

// duration reads an optional positive Go duration string.
func (p *parser) duration(m map[string]any, key, parent string) (time.Duration, error) {
	s, err := p.str(m, key, parent, false)
	if err != nil || s == "" {
		return 0, err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, p.errf(fieldPath(parent, key), "must be a positive duration such as \"90s\" or \"10m\", got %q", s)
	}
	return d, nil
}

func (p *parser) retry(m map[string]any, parent string) (*RetryOverride, error) {
	rm, err := p.mapping(m, "retry", parent, false)
	if err != nil || rm == nil {
		return nil, err
	}
	path := parent + ".retry"
	r := &RetryOverride{}
	for k, v := range rm {
		switch k {
		case "maximumAttempts":
			n, ok := v.(int64)
			if !ok || n < 1 || n > math.MaxInt32 {
				return nil, p.errf(path+"."+k, "must be a positive integer, got %v", v)
			}
			n32 := int32(n)
			r.MaximumAttempts = &n32
		case "backoffCoefficient":
			var f float64
			switch x := v.(type) {
			case int64:
				f = float64(x)
			case float64:
				f = x
			default:
				return nil, p.errf(path+"."+k, "must be a number, got %s", shape(v))
			}
			if f < 1 {
				return nil, p.errf(path+"."+k, "must be at least 1, got %v", f)
			}
			r.BackoffCoefficient = &f
		case "initialInterval", "maximumInterval":
			d, err := p.duration(rm, k, path)
			if err != nil {
				return nil, err
			}
			if k == "initialInterval" {
				r.InitialInterval = &d
			} else {
				r.MaximumInterval = &d
			}
		default:
			return nil, p.errf(path+"."+k, "unknown retry field (known: maximumAttempts, initialInterval, backoffCoefficient, maximumInterval)")
		}
	}
	return r, nil
}

func (p *parser) output(m map[string]any) (Output, error) {
	out := Output{Raw: m}
	links, err := p.list(m, "links", "spec.output")
	if err != nil {
		return out, err
	}
	for i, lv := range links {
		path := fmt.Sprintf("spec.output.links[%d]", i)
		lm, ok := lv.(map[string]any)
		if !ok {
			return out, p.errf(path, "must be a mapping, got %s", shape(lv))
		}
		var l OutputLink
		for _, f := range []struct {
			key string
			dst *string
		}{{"title", &l.Title}, {"url", &l.URL}, {"entityRef", &l.EntityRef}, {"icon", &l.Icon}} {
			if *f.dst, err = p.str(lm, f.key, path, false); err != nil {
				return out, err
			}
		}
		switch v := lm["if"].(type) {
		case nil, bool, string:
			l.If = v
		default:
			return out, p.errf(path+".if", "must be a string or a boolean, got %s", shape(v))
		}
		out.Links = append(out.Links, l)
	}
	texts, err := p.list(m, "text", "spec.output")
	if err != nil {
		return out, err
	}
	for i, tv := range texts {
		path := fmt.Sprintf("spec.output.text[%d]", i)
		tm, ok := tv.(map[string]any)
		if !ok {
			return out, p.errf(path, "must be a mapping, got %s", shape(tv))
		}
		var t OutputText
		for _, f := range []struct {
			key string
			dst *string
		}{{"title", &t.Title}, {"content", &t.Content}, {"icon", &t.Icon}} {
			if *f.dst, err = p.str(tm, f.key, path, false); err != nil {
				return out, err
			}
		}
		switch v := tm["default"].(type) {
		case nil:
		case bool:
			t.Default = v
		default:
			return out, p.errf(path+".default", "must be a boolean, got %s", shape(v))
		}
		switch v := tm["if"].(type) {
		case nil, bool, string:
			t.If = v
		default:
			return out, p.errf(path+".if", "must be a string or a boolean, got %s", shape(v))
		}
		out.Text = append(out.Text, t)
	}
	return out, nil
}
