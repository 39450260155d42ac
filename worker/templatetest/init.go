package templatetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/templates"
)

// Init writes the starter test file of the template file tpl, to be saved
// at out: per template of the file, one case with values made from its
// parameters (StarterValues), every remote skeleton it fetches recorded
// (fetch: url: record), every action rigger lacks faked, and the step
// statuses a run with those showed as its expectations. A template whose
// starter run fails is an error saying why (the case would fail): the
// values need writing by hand, or the template a fix.
func (r *Runner) Init(ctx context.Context, tpl, out string) ([]byte, error) {
	data, err := os.ReadFile(tpl)
	if err != nil {
		return nil, err
	}
	docs, err := templates.ParseDocuments(tpl, data)
	if err != nil {
		return nil, err
	}
	rel, err := relPath(filepath.Dir(out), tpl)
	if err != nil {
		return nil, err
	}
	file := initFile{Template: filepath.ToSlash(rel)}
	var errs []error
	for _, d := range docs {
		if d.Err != nil {
			errs = append(errs, d.Err)
			continue
		}
		c, err := r.initCase(ctx, d.Template, tpl, out, len(docs) > 1)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.Label(tpl, len(docs)), err))
			continue
		}
		file.Cases = append(file.Cases, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# Written by rigger template test --init: values made from the parameters'\n" +
		"# defaults, examples and enums, remote skeletons recorded, actions rigger\n" +
		"# lacks faked, and the step statuses that run showed. Edit it: add the\n" +
		"# outputs, files (snapshot) and calls that matter.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(file); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// initFile and initCase are what Init writes, in this order.
type initFile struct {
	Template string     `yaml:"template"`
	Cases    []initCase `yaml:"cases"`
}

type initCase struct {
	Name     string                    `yaml:"name"`
	Template string                    `yaml:"template,omitempty"`
	Values   map[string]any            `yaml:"values"`
	Secrets  map[string]string         `yaml:"secrets,omitempty"`
	Fetch    map[string]string         `yaml:"fetch,omitempty"`
	Fakes    map[string]map[string]any `yaml:"fakes,omitempty"`
	Expect   struct {
		Steps map[string]string `yaml:"steps,omitempty"`
	} `yaml:"expect"`
}

func (r *Runner) initCase(ctx context.Context, t *templates.Template, tpl, out string, named bool) (initCase, error) {
	c := Case{Name: "starter", UserRef: "user:default/template-test", Values: StarterValues(t), Fakes: map[string]Fake{}}
	if named {
		c.TemplateName = t.Metadata.Name
	}
	c.Secrets = starterSecrets(tpl)
	for _, st := range t.Spec.Steps {
		if _, known := r.Actions.Action(st.Action); !known {
			c.Fakes[st.Action] = Fake{}
		}
	}
	rr := *r
	rr.recordFetches, rr.Update = true, false
	res := rr.RunCase(ctx, &File{Path: out, Template: tpl}, c)
	if !res.Passed() {
		return initCase{}, fmt.Errorf("the starter case fails, so it is not written: %s", strings.Join(res.Failures, "; "))
	}
	ic := initCase{Name: "starter", Template: c.TemplateName, Values: c.Values, Secrets: c.Secrets}
	if named {
		ic.Name = "starter of " + t.Metadata.Name // names are unique in a file
	}
	if len(res.fetched) > 0 {
		ic.Fetch = map[string]string{}
		for _, u := range res.fetched {
			ic.Fetch[u] = FetchRecord
		}
	}
	if len(c.Fakes) > 0 {
		ic.Fakes = map[string]map[string]any{}
		for a := range c.Fakes {
			ic.Fakes[a] = map[string]any{}
		}
	}
	ic.Expect.Steps = map[string]string{}
	for id, s := range res.steps {
		if id != "" {
			ic.Expect.Steps[id] = s
		}
	}
	return ic, nil
}

// secretUse finds the secrets a template reads (secrets.NAME,
// secrets['NAME'] or secrets["NAME"]).
var secretUse = regexp.MustCompile(`secrets(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[['"]([^'"]+)['"]\])`)

// starterSecrets gives every secret the template file reads a fake value
// (fake-NAME).
func starterSecrets(tpl string) map[string]string {
	data, err := os.ReadFile(tpl)
	if err != nil {
		return nil
	}
	var out map[string]string
	for _, m := range secretUse.FindAllStringSubmatch(string(data), -1) {
		name := m[1] + m[2]
		if out == nil {
			out = map[string]string{}
		}
		out[name] = "fake-" + strings.ToLower(name)
	}
	return out
}

// StarterValues makes values for t's parameters: for every property of
// every page that is required or offers a value, its default, else its
// first example, else its first enum value, else a value of its type
// (strings shaped by the picker or format that asks for them, and by
// the pattern when one of a few guesses matches).
func StarterValues(t *templates.Template) map[string]any {
	out := map[string]any{}
	for _, page := range t.Spec.Parameters {
		props, _ := page["properties"].(map[string]any)
		required := stringsOf(page["required"])
		for _, name := range sortedKeys(props) {
			schema, _ := props[name].(map[string]any)
			if schema == nil {
				continue
			}
			_, hasDefault := schema["default"]
			if !slices.Contains(required, name) && !hasDefault && schema["enum"] == nil && schema["examples"] == nil {
				continue
			}
			if v, ok := starterValue(name, schema, 0); ok {
				out[name] = v
			}
		}
	}
	return out
}

func stringsOf(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// starterGuesses are the strings tried against a pattern, in order.
var starterGuesses = []string{"example", "example-app", "Example", "example1", "ex", "e", "1", "v1.0.0", "1.0.0", "example.com", "example_app", "EXAMPLE"}

func starterValue(name string, schema map[string]any, depth int) (any, bool) {
	typ, _ := schema["type"].(string)
	if l, ok := schema["type"].([]any); ok && len(l) > 0 {
		typ, _ = l[0].(string)
	}
	// A default or example of another type than the parameter's (a
	// string whose default is {}) would be refused: it is passed over.
	if v, ok := schema["default"]; ok && ofType(typ, v) {
		return v, true
	}
	if ex, ok := schema["examples"].([]any); ok && len(ex) > 0 && ofType(typ, ex[0]) {
		return ex[0], true
	}
	if en, ok := schema["enum"].([]any); ok && len(en) > 0 {
		return en[0], true
	}
	if c, ok := schema["const"]; ok {
		return c, true
	}
	switch typ {
	case "boolean":
		return false, true
	case "integer", "number":
		if m, ok := schema["minimum"]; ok {
			return m, true
		}
		return 1, true
	case "array":
		items, _ := schema["items"].(map[string]any)
		if en, ok := items["enum"].([]any); ok && len(en) > 0 {
			return []any{en[0]}, true
		}
		if positive(schema["minItems"]) && items != nil && depth < 4 {
			if v, ok := starterValue(name, items, depth+1); ok {
				return []any{v}, true
			}
		}
		return []any{}, true
	case "object":
		o := map[string]any{}
		props, _ := schema["properties"].(map[string]any)
		for _, k := range stringsOf(schema["required"]) {
			if ps, ok := props[k].(map[string]any); ok && depth < 4 {
				if v, ok := starterValue(k, ps, depth+1); ok {
					o[k] = v
				}
			}
		}
		return o, true
	}
	field, _ := schema["ui:field"].(string)
	switch field {
	case "RepoUrlPicker":
		return "github.com?owner=example&repo=example", true
	case "OwnerPicker", "MyGroupsPicker":
		return "group:default/example-team", true
	case "EntityPicker", "OwnedEntityPicker":
		return "component:default/example", true
	case "EntityNamePicker":
		return "example", true
	}
	if strings.Contains(strings.ToLower(name), "owner") {
		return "group:default/example-team", true
	}
	if p, ok := schema["pattern"].(string); ok {
		if re, err := regexp.Compile(p); err == nil {
			for _, g := range starterGuesses {
				if re.MatchString(g) {
					return g, true
				}
			}
		}
	}
	switch schema["format"] {
	case "uri", "url":
		return "https://example.com", true
	case "email":
		return "someone@example.com", true
	}
	return "example", true
}

// positive says whether v is a number above zero (YAML decodes to int,
// int64 or float64).
func positive(v any) bool {
	switch n := v.(type) {
	case int:
		return n > 0
	case int64:
		return n > 0
	case float64:
		return n > 0
	}
	return false
}

// relPath is target relative to dir, both made absolute first.
func relPath(dir, target string) (string, error) {
	ad, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	at, err := filepath.Abs(target)
	if err != nil {
		return "", err
	}
	return filepath.Rel(ad, at)
}

// ofType says whether v is a value of the JSON Schema type typ ("": any).
func ofType(typ string, v any) bool {
	switch v.(type) {
	case string:
		return typ == "" || typ == "string"
	case bool:
		return typ == "" || typ == "boolean"
	case int, int64, float64:
		return typ == "" || typ == "integer" || typ == "number"
	case []any:
		return typ == "" || typ == "array"
	case map[string]any:
		return typ == "" || typ == "object"
	case nil:
		return typ == "" || typ == "null"
	}
	return typ == ""
}
