package templates

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata")

// contextFile is the JSON form of a Context in testdata.
type contextFile struct {
	Parameters map[string]any            `json:"parameters"`
	Steps      map[string]map[string]any `json:"steps"`
	User       struct {
		Ref    string         `json:"ref"`
		Entity map[string]any `json:"entity"`
	} `json:"user"`
	Secrets map[string]string `json:"secrets"`
	Each    *struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"each"`
	Values map[string]any `json:"values"`
	TaskID string         `json:"taskId"`
}

func loadContext(t *testing.T, path string) Context {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cf contextFile
	if err := json.Unmarshal(data, &cf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ctx := Context{
		Parameters: cf.Parameters,
		Steps:      cf.Steps,
		User:       User{Ref: cf.User.Ref, Entity: cf.User.Entity},
		Secrets:    cf.Secrets,
		Values:     cf.Values,
		TaskID:     cf.TaskID,
	}
	if cf.Each != nil {
		ctx.Each = &Each{Key: cf.Each.Key, Value: cf.Each.Value}
	}
	return ctx
}

func newTestRenderer(t testing.TB, lim Limits) *Renderer {
	t.Helper()
	r, err := NewRenderer(lim)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// formatResult writes a rendered result as a golden file does: the Go
// type on the first line, then the value (raw text for strings, JSON
// otherwise) or the error message.
func formatResult(v any, err error) string {
	if err != nil {
		return "error\n" + err.Error() + "\n"
	}
	if s, ok := v.(string); ok {
		return "string\n" + s + "\n"
	}
	b, jerr := json.Marshal(v)
	if jerr != nil {
		return "unencodable\n" + jerr.Error() + "\n"
	}
	return fmt.Sprintf("%T\n%s\n", v, b)
}

// TestGolden renders every testdata/expr/*.tpl with the shared context
// (or <name>.json beside it) and compares with <name>.out. Files named
// text_* go through RenderString, the others through RenderValue, whose
// first output line shows the Go type of the result.
func TestGolden(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	shared := loadContext(t, "testdata/expr/context.json")
	files, err := filepath.Glob("testdata/expr/*.tpl")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("found only %d golden templates", len(files))
	}
	for _, tplPath := range files {
		name := strings.TrimSuffix(filepath.Base(tplPath), ".tpl")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(tplPath)
			if err != nil {
				t.Fatal(err)
			}
			src := strings.TrimSuffix(string(data), "\n")
			ctx := shared
			if own := strings.TrimSuffix(tplPath, ".tpl") + ".json"; fileExists(own) {
				ctx = loadContext(t, own)
			}
			var got string
			if strings.HasPrefix(name, "text_") {
				s, err := r.RenderString(src, ctx)
				if err != nil {
					got = formatResult(nil, err)
				} else {
					got = "text\n" + s + "\n"
				}
			} else {
				got = formatResult(r.RenderValue(src, ctx))
			}
			outPath := strings.TrimSuffix(tplPath, ".tpl") + ".out"
			if *update {
				if err := os.WriteFile(outPath, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s\n got: %q\nwant: %q", src, got, want)
			}
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestGoldenCoversEveryFilter fails when a filter has no golden test.
func TestGoldenCoversEveryFilter(t *testing.T) {
	files, _ := filepath.Glob("testdata/expr/*.tpl")
	var all strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		all.Write(data)
	}
	for _, name := range []string{
		"abs", "capitalize", "default", "d", "dump", "escape", "e", "first", "float", "int",
		"indent", "join", "last", "length", "list", "lower", "upper", "replace", "reverse",
		"round", "safe", "selectattr", "rejectattr", "sort", "string", "striptags", "sum",
		"title", "trim", "truncate", "urlencode", "wordcount", "parseRepoUrl", "projectSlug",
		"parseEntityRef", "pick", "jsonify",
	} {
		if filterFunc(name) == nil {
			t.Errorf("filter %s does not exist", name)
		}
		if !regexp.MustCompile(`\|\s*` + name + `\b`).MatchString(all.String()) {
			t.Errorf("filter %s has no golden test", name)
		}
	}
}

func TestRenderValueTree(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	ctx := Context{
		Parameters: map[string]any{"name": "svc", "tags": []any{"a", "b"}, "port": 8080, "empty": ""},
	}
	input := map[string]any{
		"name":      "${{ parameters.name }}",
		"tags":      "${{ parameters.tags }}",
		"port":      "${{ parameters.port }}",
		"literal":   5,
		"missing":   "${{ parameters.nope }}",
		"blank":     "",
		"emptyText": "${{ parameters.empty }}",
		"nested": map[string]any{
			"list": []any{"${{ parameters.name }}-1", "${{ parameters.nope }}", true},
		},
		"${{ parameters.name }}": "keys are not rendered",
	}
	got, err := r.RenderValue(input, ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name":      "svc",
		"tags":      []any{"a", "b"},
		"port":      int64(8080),
		"literal":   int64(5),
		"emptyText": "",
		"nested": map[string]any{
			"list": []any{"svc-1", nil, true},
		},
		"${{ parameters.name }}": "keys are not rendered",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	// The input is not modified.
	if input["name"] != "${{ parameters.name }}" {
		t.Errorf("input was modified")
	}
}

func TestRenderErrorPath(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	_, err := r.RenderValue(map[string]any{"values": map[string]any{"list": []any{"ok", "${{ x | nope }}"}}}, Context{})
	var re *RenderError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a RenderError", err)
	}
	if re.Path != "values.list[1]" || re.Line != 1 || re.Column != 9 {
		t.Errorf("got path %q line %d column %d", re.Path, re.Line, re.Column)
	}
	if want := `values.list[1]: line 1, column 9: unknown filter "nope"`; err.Error() != want {
		t.Errorf("got %q, want %q", err.Error(), want)
	}
}

func TestEvalCondition(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	ctx := Context{Parameters: map[string]any{"dryRun": false, "ci": "Yes", "list": []any{}, "zero": 0}}
	tests := []struct {
		in   any
		want bool
		err  bool
	}{
		{nil, true, false},
		{true, true, false},
		{false, false, false},
		{"${{ parameters.dryRun !== true }}", true, false},
		{"${{ parameters.dryRun }}", false, false},
		{"${{ parameters.ci === 'Yes' }}", true, false},
		{"${{ parameters.ci === \"No\" }}", false, false},
		{"${{ parameters.missing }}", false, false},
		{"${{ parameters.zero }}", false, false},
		{"${{ parameters.list }}", true, false}, // JavaScript: [] is truthy
		{"false", true, false},                  // plain text is a non-empty string
		{"", false, false},
		{"${{ parameters.ci }} and more", true, false},
		{"${{ parameters.ci | nope }}", false, true},
		{42, false, true},
	}
	for _, tt := range tests {
		got, err := r.EvalCondition(tt.in, ctx)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("EvalCondition(%#v) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestEachItems(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	ctx := Context{Parameters: map[string]any{"envs": []any{"dev", "prod"}, "obj": map[string]any{"b": 2, "a": 1}}}
	tests := []struct {
		in   any
		want []Each
		err  string
	}{
		{"${{ parameters.envs }}", []Each{{"0", "dev"}, {"1", "prod"}}, ""},
		{[]any{"x", "${{ parameters.envs[1] }}"}, []Each{{"0", "x"}, {"1", "prod"}}, ""},
		{"${{ parameters.obj }}", []Each{{"a", int64(1)}, {"b", int64(2)}}, ""},
		{"${{ parameters.envs[0] }}", nil, "each: must evaluate to an array or an object, got string"},
	}
	for _, tt := range tests {
		got, err := r.EachItems(tt.in, ctx)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("EachItems(%#v) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("EachItems(%#v) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
}

func TestRenderStringKeepsTextOfSingleExpression(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	got, err := r.RenderString("${{ values.flag }}", Context{Values: map[string]any{"flag": true}})
	if err != nil || got != "true" {
		t.Errorf("got %q, %v; want \"true\"", got, err)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	secret := "hunter2-very-secret"
	ctx := Context{Secrets: map[string]string{"TOKEN": secret}, Parameters: map[string]any{"p": secret}}
	for _, src := range []string{
		"${{ secrets.TOKEN | parseRepoUrl }}",
		"${{ parameters.p | parseEntityRef({defaultKind: 1}) | pick(secrets.TOKEN) }}${{ secrets.TOKEN.nope() }}",
		"${{ 1 in secrets.TOKEN.length }}",
		"${{ secrets.TOKEN | parseEntityRef }}${{ x | nofilter }}",
		"${{ secrets.TOKEN ~ ':' | projectSlug }}",
	} {
		_, err := r.RenderValue(src, ctx)
		if err == nil {
			t.Errorf("%s: expected an error", src)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the secret: %v", src, err)
		}
	}
}

func TestRedactEncodedForms(t *testing.T) {
	v := `p@ss"w/+rd`
	secrets := map[string]string{"T": v}
	for _, form := range []string{
		v, `p@ss\"w/+rd`, url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
	} {
		if got := Redact("before "+form+" after", secrets); got != "before *** after" {
			t.Errorf("%q: Redact = %q", form, got)
		}
	}
}

func TestRedact(t *testing.T) {
	secrets := map[string]string{"A": "abc", "B": "abcdef", "EMPTY": ""}
	if got := Redact("x abcdef y abc z", secrets); got != "x *** y *** z" {
		t.Errorf("Redact = %q", got)
	}
	v := map[string]any{"t": "token abc", "l": []any{"abcdef", 1}}
	got := RedactValue(v, secrets)
	want := map[string]any{"t": "token ***", "l": []any{"***", 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RedactValue = %#v", got)
	}
	if v["t"] != "token abc" {
		t.Errorf("RedactValue modified its input")
	}
	if got := SecretsIn(v, secrets); !reflect.DeepEqual(got, []string{"A", "B"}) {
		t.Errorf("SecretsIn = %v", got)
	}
	if got := SecretsIn("nothing", secrets); got != nil {
		t.Errorf("SecretsIn = %v", got)
	}
}

// TestRendererConcurrent renders from many goroutines with one Renderer;
// run with -race to check the shared cache and template set.
func TestRendererConcurrent(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				ctx := Context{Parameters: map[string]any{"n": g*1000 + i}}
				src := fmt.Sprintf("{%% for x in range(%d) %%}${{ x }}{%% endfor %%}:${{ parameters.n }}", i%3+1)
				got, err := r.RenderString(src, ctx)
				if err != nil {
					errs <- err
					return
				}
				if !strings.HasSuffix(got, fmt.Sprintf(":%d", g*1000+i)) {
					errs <- fmt.Errorf("goroutine %d: got %q", g, got)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewRendererRejectsNegativeLimits(t *testing.T) {
	if _, err := NewRenderer(Limits{MaxOutputBytes: -1}); err == nil {
		t.Error("expected an error for a negative limit")
	}
	if _, err := NewRenderer(Limits{Timeout: -time.Second}); err == nil {
		t.Error("expected an error for a negative timeout")
	}
}

func TestRenderOutput(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	data, err := os.ReadFile(filepath.Join(corpusDir, "backstage/plugins/scaffolder-backend/sample-templates/conditional-output-demo/template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Parse("conditional-output-demo", data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		params     map[string]any
		links      []string
		textTitles []string
	}{
		{map[string]any{"name": "svc", "enableCI": "Yes", "showDetails": true},
			[]string{"https://backstage.io", "https://ci.example.com/svc", "https://ci.example.com/docs"},
			[]string{"Summary", "CI Details", "CI Setup Instructions"}},
		{map[string]any{"name": "svc", "enableCI": "No", "showDetails": false},
			[]string{"https://backstage.io"},
			[]string{"Summary"}},
	}
	for _, tt := range tests {
		out, err := r.RenderOutput(tpl.Spec.Output.Raw, Context{Parameters: tt.params})
		if err != nil {
			t.Fatal(err)
		}
		var links, titles []string
		for _, l := range out["links"].([]any) {
			m := l.(map[string]any)
			if _, has := m["if"]; has {
				t.Errorf("if kept in %v", m)
			}
			links = append(links, m["url"].(string))
		}
		for _, x := range out["text"].([]any) {
			titles = append(titles, x.(map[string]any)["title"].(string))
		}
		if !reflect.DeepEqual(links, tt.links) || !reflect.DeepEqual(titles, tt.textTitles) {
			t.Errorf("%v: links %v titles %v", tt.params, links, titles)
		}
	}
	_, err = r.RenderOutput(map[string]any{"links": []any{map[string]any{"url": "${{ x | nope }}"}}}, Context{})
	if err == nil || !strings.HasPrefix(err.Error(), "links[0].url: line 1") {
		t.Errorf("got %v", err)
	}
}

// TestRenderTextOptions covers fetch:template's trimBlocks, lstripBlocks and
// cookiecutterCompat (Nunjucks semantics).
func TestRenderTextOptions(t *testing.T) {
	r := newTestRenderer(t, Limits{})
	ctx := Context{Values: map[string]any{"name": "pay", "n": 5, "tags": []any{"a", "b"}}}
	trim := TextOptions{TrimBlocks: true}
	both := TextOptions{TrimBlocks: true, LstripBlocks: true}
	cc := TextOptions{Cookiecutter: true}
	cases := []struct {
		name, tpl string
		opt       TextOptions
		want      string
	}{
		{"no options keep newlines", "{% if true %}\nyes\n{% endif %}\nafter", TextOptions{}, "\nyes\n\nafter"},
		{"trimBlocks", "{% if true %}\nyes\n{% endif %}\nafter", trim, "yes\nafter"},
		{"trimBlocks one newline only", "{% if true %}\n\nyes{% endif %}", trim, "\nyes"},
		{"trimBlocks after comment", "{# note #}\nx", trim, "x"},
		{"trimBlocks not after output", "${{ values.name }}\nx", trim, "pay\nx"},
		{"trimBlocks CRLF", "{% if true %}\r\nyes{% endif %}", trim, "yes"},
		{"lstripBlocks", "list:\n  {% for t in values.tags %}\n  - ${{ t }}\n  {% endfor %}\nend", both, "list:\n  - a\n  - b\nend"},
		{"lstripBlocks only at line start", "a {% if true %}b{% endif %}", both, "a b"},
		{"lstripBlocks at template start", "  {% if true %}x{% endif %}", TextOptions{LstripBlocks: true}, "x"},
		{"lstripBlocks keeps text before", "x  {% if true %}y{% endif %}", TextOptions{LstripBlocks: true}, "x  y"},
		{"cookiecutter prints with {{ }}", "name: {{ cookiecutter.name | jsonify }}", cc, `name: "pay"`},
		{"cookiecutter expression", `{{cookiecutter.name + "/" + cookiecutter.n}}`, cc, "pay/5"},
		{"cookiecutter ${ is text", "cost: ${{ cookiecutter.n }}", cc, "cost: $5"},
		{"cookiecutter has no values", "[{{ values.name }}]", cc, "[]"},
		{"cookiecutter tags", "{% if cookiecutter.n > 3 %}big{% endif %}", cc, "big"},
		{"without cookiecutter {{ }} is text", "{{ x }} ${{ values.name }}", TextOptions{}, "{{ x }} pay"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := r.RenderText(c.tpl, ctx, c.opt)
			if err != nil || got != c.want {
				t.Errorf("RenderText(%q, %+v) = %q, %v; want %q", c.tpl, c.opt, got, err, c.want)
			}
		})
	}
	// One source parsed under two option sets, in both orders: each render
	// gets its own parse from the cache.
	src := "{% if true %}\nx{% endif %}"
	for range 2 {
		if got, _ := r.RenderText(src, ctx, trim); got != "x" {
			t.Errorf("trimBlocks render after a plain one = %q", got)
		}
		if got, _ := r.RenderText(src, ctx, TextOptions{}); got != "\nx" {
			t.Errorf("plain render after a trimBlocks one = %q", got)
		}
	}
	// A source cannot pose as another source under other options.
	if got, _ := r.RenderText("\x00opts:_1_\x00hello {{ cookiecutter.name }}", ctx, TextOptions{}); !strings.HasPrefix(got, "\x00") {
		t.Fatalf("plain render: %q", got)
	}
	if got, _ := r.RenderText("hello {{ cookiecutter.name }}", ctx, cc); got != "hello pay" {
		t.Errorf("cookiecutter render after a look-alike source = %q", got)
	}
}
