package contract

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// ActionDoc documents a scaffolder action the way Backstage's
// GET /api/scaffolder/v2/actions does: a description, JSON Schemas
// (draft-07) for its input and output, and examples.
type ActionDoc struct {
	Description string          `json:"description"`
	Input       json.RawMessage `json:"input"`
	Output      json.RawMessage `json:"output"`
	Examples    []ActionExample `json:"examples,omitempty"`
}

// ActionExample is one example of an action: Example is a YAML snippet
// holding a steps list, as in Backstage.
type ActionExample struct {
	Description string `json:"description"`
	Example     string `json:"example"`
}

// The docs live in schemas/<action with ":" as "-">.json, one per action:
// {id, description, input, output, examples: [{description, steps}]}.
// Examples are written as JSON steps for readability and served as YAML.
//
//go:embed schemas/*.json
var schemaFiles embed.FS

// actionDocFile is the layout of one schemas/*.json file.
type actionDocFile struct {
	ID          string          `json:"id"`
	Description string          `json:"description"`
	Input       json.RawMessage `json:"input"`
	Output      json.RawMessage `json:"output"`
	Examples    []struct {
		Description string          `json:"description"`
		Steps       json.RawMessage `json:"steps"`
	} `json:"examples"`
}

var (
	docsOnce sync.Once
	docs     map[string]ActionDoc
	docsErr  error
)

// loadDocs decodes the embedded files once. They are part of the build, so
// an error is a programming error: ActionDocs panics with it (the tests
// load every file).
func loadDocs() (map[string]ActionDoc, error) {
	docsOnce.Do(func() { docs, docsErr = decodeDocs() })
	return docs, docsErr
}

func decodeDocs() (map[string]ActionDoc, error) {
	entries, err := schemaFiles.ReadDir("schemas")
	if err != nil {
		return nil, err
	}
	out := map[string]ActionDoc{}
	for _, e := range entries {
		name := "schemas/" + e.Name()
		data, err := schemaFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var f actionDocFile
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if want := strings.ReplaceAll(f.ID, ":", "-") + ".json"; e.Name() != want {
			return nil, fmt.Errorf("%s: action %q belongs in %s", name, f.ID, want)
		}
		if len(f.Input) == 0 || len(f.Output) == 0 {
			return nil, fmt.Errorf("%s: input and output schemas are required", name)
		}
		doc := ActionDoc{Description: f.Description, Input: f.Input, Output: f.Output}
		for i, ex := range f.Examples {
			y, err := stepsYAML(ex.Steps)
			if err != nil {
				return nil, fmt.Errorf("%s: examples[%d]: %w", name, i, err)
			}
			doc.Examples = append(doc.Examples, ActionExample{Description: ex.Description, Example: y})
		}
		out[f.ID] = doc
	}
	return out, nil
}

// stepsYAML renders a JSON steps list as the YAML document `steps: [...]`
// in block style, keeping the keys in the order they were written.
func stepsYAML(steps json.RawMessage) (string, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(steps, &n); err != nil {
		return "", err
	}
	if n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.SequenceNode {
		return "", fmt.Errorf("steps must be a list")
	}
	blockStyle(n.Content[0])
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "steps"},
		n.Content[0],
	}}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// blockStyle drops the flow style and quoting JSON syntax gave the nodes,
// so the encoder picks YAML's usual block style and plain scalars.
func blockStyle(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!str" && strings.Contains(n.Value, "\n") {
			n.Style = yaml.LiteralStyle
		} else {
			n.Style = 0
		}
	} else {
		n.Style = 0
	}
	for _, c := range n.Content {
		blockStyle(c)
	}
}

// ActionDocs returns the documentation of a built-in action, if it has any.
func ActionDocs(name string) (ActionDoc, bool) {
	d, err := loadDocs()
	if err != nil {
		panic("contract: embedded action schemas: " + err.Error())
	}
	doc, ok := d[name]
	if !ok {
		return ActionDoc{}, false
	}
	// Copies: callers may keep or change what they get.
	doc.Input = bytes.Clone(doc.Input)
	doc.Output = bytes.Clone(doc.Output)
	doc.Examples = append([]ActionExample(nil), doc.Examples...)
	return doc, true
}

// DocumentedActions lists the actions ActionDocs knows, sorted. It may
// name actions this build does not implement yet (see NewRegistry).
func DocumentedActions() []string {
	d, err := loadDocs()
	if err != nil {
		panic("contract: embedded action schemas: " + err.Error())
	}
	out := make([]string, 0, len(d))
	for n := range d {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
