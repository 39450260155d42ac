package contract_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// compile compiles a draft-07 schema the way the templates package does
// (no remote references).
func compile(t *testing.T, name string, data []byte) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: invalid JSON: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	url := "rigger:///" + name + ".json"
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// documented is an ActionLookup over every documented action, registered
// or not, with its input schema.
type documented struct{ schemas bool }

func (d documented) Action(name string) (templates.ActionInfo, bool) {
	doc, ok := contract.ActionDocs(name)
	if !ok {
		return templates.ActionInfo{}, false
	}
	info := templates.ActionInfo{Name: name, TaskQueue: contract.QueueDefault}
	if d.schemas {
		info.InputSchema = doc.Input
	}
	return info, true
}

// The actions Backstage ships that Rigger documents, and Rigger's own;
// the registry may implement fewer.
var wantDocumented = []string{
	"aws:s3:create-bucket", "aws:s3:put-object",
	"catalog:fetch", "catalog:register", "catalog:write", "debug:log", "debug:wait",
	"fetch:cookiecutter", "fetch:plain", "fetch:plain:file", "fetch:template", "fs:delete", "fs:rename", "fs:write",
	"github:actions:dispatch", "github:issues:label", "github:repo:create", "github:repo:push", "github:webhook",
	"publish:github", "publish:github:pull-request", "rigger:approval", "rigger:wait-for",
	"terraform:apply", "terraform:destroy", "terraform:output", "terraform:plan",
}

func TestActionDocsCoverRegistry(t *testing.T) {
	if got := contract.DocumentedActions(); !reflect.DeepEqual(got, wantDocumented) {
		t.Errorf("documented actions %v, want %v", got, wantDocumented)
	}
	reg := contract.NewRegistry(nil)
	for _, n := range reg.Names() {
		doc, ok := contract.ActionDocs(n)
		if !ok {
			t.Errorf("registered action %s has no doc", n)
			continue
		}
		info, _ := reg.Action(n)
		if !bytes.Equal(info.InputSchema, doc.Input) {
			t.Errorf("%s: the registry's input schema is not the doc's", n)
		}
	}
	for _, a := range contract.GitHubActions {
		info, ok := reg.Action(a.Name)
		if !ok || info.TaskQueue != contract.QueueGitHub {
			t.Errorf("%s: registered %v on queue %q, want %s", a.Name, ok, info.TaskQueue, contract.QueueGitHub)
		}
	}
}

func TestActionSchemasCompile(t *testing.T) {
	for _, n := range contract.DocumentedActions() {
		doc, _ := contract.ActionDocs(n)
		if strings.TrimSpace(doc.Description) == "" {
			t.Errorf("%s: no description", n)
		}
		for _, part := range []struct {
			name string
			data []byte
		}{{"input", doc.Input}, {"output", doc.Output}} {
			compile(t, n+"/"+part.name, part.data)
			var m map[string]any
			if err := json.Unmarshal(part.data, &m); err != nil {
				t.Fatalf("%s %s: %v", n, part.name, err)
			}
			if m["type"] != "object" {
				t.Errorf("%s %s: type %v, want object", n, part.name, m["type"])
			}
			// Backstage passes unknown keys through to most actions; the
			// validator warns about them instead.
			if _, ok := m["additionalProperties"]; ok {
				t.Errorf("%s %s: sets additionalProperties", n, part.name)
			}
		}
		// ActionDocs hands out copies.
		doc.Input[0] = 'x'
		if again, _ := contract.ActionDocs(n); again.Input[0] != '{' {
			t.Fatalf("%s: ActionDocs shares its bytes", n)
		}
	}
}

// TestActionSchemaFacts pins what Backstage's actions require and accept.
func TestActionSchemaFacts(t *testing.T) {
	tests := []struct {
		action string
		ok     []string // inputs, as JSON, that must validate
		bad    []string // inputs that must not
	}{
		{"debug:log", []string{`{}`, `{"message":"m","listWorkspace":true}`, `{"listWorkspace":"with-filenames"}`, `{"listWorkspace":"with-contents"}`},
			[]string{`{"message":1}`, `{"listWorkspace":"yes"}`}},
		{"debug:wait", []string{`{}`, `{"minutes":1,"seconds":2.5,"milliseconds":3}`}, []string{`{"seconds":"5"}`}},
		{"fs:write", []string{`{"path":"a","content":""}`}, []string{`{"path":"a"}`, `{"content":"c"}`}},
		{"fs:delete", []string{`{"files":[]}`, `{"files":["a","b/**"]}`}, []string{`{}`, `{"files":"x"}`, `{"files":[1]}`}},
		{"fs:rename", []string{`{"files":[{"from":"a","to":"b","overwrite":true}]}`},
			[]string{`{}`, `{"files":[{"from":"a"}]}`, `{"files":[{"from":"a","to":"b","overwrite":"yes"}]}`}},
		{"fetch:plain", []string{`{"url":"./x"}`, `{"url":"./x","targetPath":"t","token":"s"}`}, []string{`{}`, `{"targetPath":"t"}`}},
		{"fetch:plain:file", []string{`{"url":"./x","targetPath":"t"}`}, []string{`{"url":"./x"}`}},
		{"fetch:template", []string{`{"url":"./s","values":{"a":1},"templateFileExtension":".njk"}`, `{"url":"./s","templateFileExtension":true,"replace":true,"trimBlocks":true,"lstripBlocks":false,"cookiecutterCompat":false,"token":"t","copyWithoutRender":["x"],"copyWithoutTemplating":["y"],"targetPath":"p"}`},
			[]string{`{}`, `{"url":"./s","values":"v"}`, `{"url":"./s","templateFileExtension":1}`}},
		// catalogInfoPath alone is rigger's extension: a file in the workspace.
		{"catalog:register", []string{`{"catalogInfoUrl":"u"}`, `{"catalogInfoUrl":"u","optional":true}`, `{"repoContentsUrl":"r"}`, `{"repoContentsUrl":"r","catalogInfoPath":"/c.yaml"}`, `{"catalogInfoPath":"catalog-info.yaml"}`},
			[]string{`{}`, `{"optional":true}`, `{"catalogInfoUrl":1}`, `{"repoContentsUrl":"r","optional":"no"}`}},
		{"catalog:write", []string{`{"entity":{}}`, `{"filePath":"x.yaml","entity":{"kind":"Component"}}`}, []string{`{}`, `{"entity":"e"}`}},
		{"catalog:fetch", []string{`{}`, `{"entityRef":"a"}`, `{"entityRefs":["a"],"optional":true,"defaultKind":"group","defaultNamespace":"default"}`},
			[]string{`{"entityRefs":"a"}`, `{"optional":"yes"}`}},
		{"aws:s3:put-object", []string{`{"bucket":"b","key":"k","body":"x"}`, `{"bucket":"b","key":"k","path":"p","contentType":"text/plain"}`},
			[]string{`{"key":"k","body":"x"}`, `{"bucket":"b","body":"x"}`, `{"bucket":"b","key":"k","body":1}`}},
		{"aws:s3:create-bucket", []string{`{"bucket":"b"}`}, []string{`{}`, `{"bucket":true}`}},
	}
	for _, tt := range tests {
		doc, ok := contract.ActionDocs(tt.action)
		if !ok {
			t.Errorf("%s: no doc", tt.action)
			continue
		}
		s := compile(t, tt.action, doc.Input)
		for _, in := range tt.ok {
			v, _ := jsonschema.UnmarshalJSON(strings.NewReader(in))
			if err := s.Validate(v); err != nil {
				t.Errorf("%s: %s rejected: %v", tt.action, in, err)
			}
		}
		for _, in := range tt.bad {
			v, _ := jsonschema.UnmarshalJSON(strings.NewReader(in))
			if err := s.Validate(v); err == nil {
				t.Errorf("%s: %s accepted", tt.action, in)
			}
		}
	}
	// Outputs.
	for action, wantProps := range map[string][]string{
		"catalog:register":     {"catalogInfoUrl", "entityRef"},
		"catalog:fetch":        {"entities", "entity"},
		"aws:s3:put-object":    {"bucket", "etag", "key", "url"},
		"aws:s3:create-bucket": {"arn", "bucket", "created"},
		"fetch:plain":          nil, "fetch:plain:file": nil, "fetch:template": nil, "debug:log": nil,
	} {
		doc, _ := contract.ActionDocs(action)
		var out struct {
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(doc.Output, &out); err != nil {
			t.Fatal(err)
		}
		var got []string
		for k := range out.Properties {
			got = append(got, k)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, wantProps) {
			t.Errorf("%s output properties %v, want %v", action, got, wantProps)
		}
	}
}

// wrapSteps makes a template out of a steps snippet (a YAML document
// with a top-level steps list).
func wrapSteps(t *testing.T, name, stepsYAML string) *templates.Template {
	t.Helper()
	var indented strings.Builder
	for _, l := range strings.Split(strings.TrimRight(stepsYAML, "\n"), "\n") {
		indented.WriteString("  " + l + "\n")
	}
	src := "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: t\nspec:\n  type: service\n" + indented.String()
	tpl, err := templates.Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, src)
	}
	return tpl
}

func TestActionExamples(t *testing.T) {
	for _, n := range contract.DocumentedActions() {
		doc, _ := contract.ActionDocs(n)
		if len(doc.Examples) == 0 {
			t.Errorf("%s: no examples", n)
		}
		s := compile(t, n, doc.Input)
		for i, ex := range doc.Examples {
			if ex.Description == "" {
				t.Errorf("%s examples[%d]: no description", n, i)
			}
			var parsed struct {
				Steps []struct {
					ID, Name, Action string
					Input            map[string]any
				}
			}
			dec := yaml.NewDecoder(strings.NewReader(ex.Example))
			dec.KnownFields(true)
			if err := dec.Decode(&parsed); err != nil {
				t.Fatalf("%s examples[%d]: %v\n%s", n, i, err, ex.Example)
			}
			if len(parsed.Steps) == 0 || !strings.HasPrefix(ex.Example, "steps:\n  - action: "+n+"\n") {
				t.Errorf("%s examples[%d]: not a Backstage steps snippet:\n%s", n, i, ex.Example)
			}
			for _, st := range parsed.Steps {
				if st.Action != n || st.ID == "" || st.Name == "" {
					t.Errorf("%s examples[%d]: step %+v", n, i, st)
				}
				if err := s.Validate(jsonValue(t, st.Input)); err != nil {
					t.Errorf("%s examples[%d]: input rejected: %v", n, i, err)
				}
			}
			// The whole snippet passes Rigger's validator, but for what a
			// snippet cannot hold: the parameters and earlier steps it
			// refers to.
			for _, p := range templates.Validate(wrapSteps(t, n, ex.Example), documented{schemas: true}) {
				switch {
				case strings.Contains(p.Message, "is not defined by any parameter page"),
					strings.Contains(p.Message, "refers to unknown step"),
					strings.HasPrefix(p.Message, "file path comes from user input"):
				default:
					t.Errorf("%s examples[%d]: %s", n, i, p)
				}
			}
		}
	}
}

// jsonValue converts a YAML-decoded value to what the schema library
// validates (json.Number for numbers).
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRegistryInputChecks runs the validator with the registry the server
// and `rigger template validate` use.
func TestRegistryInputChecks(t *testing.T) {
	reg := contract.NewRegistry(nil)
	tests := []struct {
		name, steps string
		want        []string // Problem.String() prefixes, in order
	}{
		{
			name:  "missing required input",
			steps: "steps:\n  - id: fetch\n    action: fetch:plain\n    input:\n      targetPath: ./out\n",
			want:  []string{`error: steps[0] (id "fetch").input.url: required`},
		},
		{
			name:  "missing required input, templated",
			steps: "steps:\n  - id: fetch\n    action: fetch:plain\n    input:\n      targetPath: ${{ parameters.dir }}\n",
			want: []string{
				`error: steps[0] (id "fetch").input.url: required by action "fetch:plain"`,
				`warning: steps[0] (id "fetch").input.targetPath: line 1, column 5: parameters.dir is not defined`,
				`warning: steps[0] (id "fetch").input.targetPath: file path comes from user input (parameters.dir)`,
			},
		},
		{
			name:  "wrong type",
			steps: "steps:\n  - id: clean\n    action: fs:delete\n    input:\n      files: x\n",
			want:  []string{`error: steps[0] (id "clean").input.files: got string, want array`},
		},
		{
			name:  "wrong item type",
			steps: "steps:\n  - id: mv\n    action: fs:rename\n    input:\n      files:\n        - from: a\n",
			want:  []string{`error: steps[0] (id "mv").input.files[0].to: required`},
		},
		{
			name:  "unknown key",
			steps: "steps:\n  - id: log\n    action: debug:log\n    input:\n      mesage: hi\n",
			want:  []string{`warning: steps[0] (id "log").input.mesage: unknown input of action "debug:log", which the action ignores; it takes listWorkspace, message`},
		},
		{
			name:  "listWorkspace modes",
			steps: "steps:\n  - id: log\n    action: debug:log\n    input:\n      listWorkspace: with-contents\n  - id: log2\n    action: debug:log\n    input:\n      listWorkspace: everything\n",
			want: []string{
				`error: steps[1] (id "log2").input.listWorkspace: got string, want boolean`,
				`error: steps[1] (id "log2").input.listWorkspace: value must be one of 'with-filenames', 'with-contents'`,
			},
		},
		{
			name:  "debug:wait",
			steps: "steps:\n  - id: w\n    action: debug:wait\n    input:\n      seconds: '5'\n",
			want:  []string{`error: steps[0] (id "w").input.seconds: got string, want number`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range templates.Validate(wrapSteps(t, "t.yaml", tt.steps), reg) {
				got = append(got, p.String())
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// schemaProblems returns what the input schemas add to Validate's verdict
// on a template: the problems found with them and not without them.
func schemaProblems(tpl *templates.Template) []string {
	without := map[string]int{}
	for _, p := range templates.Validate(tpl, documented{}) {
		without[p.String()]++
	}
	var added []string
	for _, p := range templates.Validate(tpl, documented{schemas: true}) {
		if without[p.String()] > 0 {
			without[p.String()]--
			continue
		}
		added = append(added, p.String())
	}
	return added
}

// TestTemplatesAgainstSchemas checks real templates (the shared corpus and
// examples/templates) against the action schemas: a template Backstage
// runs must not be rejected, nor warned about, because of them.
func TestTemplatesAgainstSchemas(t *testing.T) {
	const corpusDir, examplesDir = "../../../shared/corpus", "../../examples/templates"
	if _, err := os.Stat(filepath.Join(corpusDir, "README.md")); err != nil {
		t.Fatalf("corpus not found at %s (expected beside the repository): %v", corpusDir, err)
	}
	var files []string
	for _, dir := range []string{corpusDir, examplesDir} {
		err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if !fi.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	checked, steps := 0, 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte("apiVersion: scaffolder.backstage.io/v1beta3")) || !bytes.Contains(data, []byte("kind: Template")) {
			continue
		}
		tpl, err := templates.Parse(p, data)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		checked++
		for _, st := range tpl.Spec.Steps {
			if _, ok := contract.ActionDocs(st.Action); ok {
				steps++
			}
		}
		for _, added := range schemaProblems(tpl) {
			t.Errorf("%s: %s", p, added)
		}
		if strings.HasPrefix(p, examplesDir+"/") {
			for _, pr := range templates.Validate(tpl, contract.NewRegistry(nil)) {
				if pr.Severity == templates.SeverityError {
					t.Errorf("%s: %s", p, pr)
				}
			}
		}
	}
	if checked < 25 || steps < 80 {
		t.Errorf("checked only %d templates with %d steps using documented actions", checked, steps)
	}
	t.Logf("%d templates, %d steps with documented actions", checked, steps)
}
