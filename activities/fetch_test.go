package activities

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// templateDir makes a template folder with a skeleton.
func templateDir(t *testing.T) (dir, base string) {
	t.Helper()
	dir = t.TempDir()
	sk := filepath.Join(dir, "skeleton")
	os.MkdirAll(filepath.Join(sk, ".github", "workflows"), 0o755)
	os.MkdirAll(filepath.Join(sk, "${{ values.name }}"), 0o755)
	os.WriteFile(filepath.Join(dir, "template.yaml"), []byte("kind: Template\n"), 0o644)
	os.WriteFile(filepath.Join(sk, "README.md"), []byte("# ${{ values.name }}\nOwned by ${{ values.owner | upper }}\n"), 0o644)
	os.WriteFile(filepath.Join(sk, "${{ values.name }}", "main.go"), []byte("package ${{ values.name }}\n"), 0o644)
	os.WriteFile(filepath.Join(sk, ".github", "workflows", "ci.yaml"), []byte("run: ${{ github.sha }}\n"), 0o644)
	return dir, "file://" + filepath.Join(dir, "template.yaml")
}

func TestFetchTemplate(t *testing.T) {
	s, _ := newScaffold(t)
	_, base := templateDir(t)

	in := contract.ActionInput{TaskID: "t", TemplateBaseURL: base, Input: map[string]any{
		"url": "./skeleton", "targetPath": "out",
		"values":                map[string]any{"name": "pay", "owner": "team-a"},
		"copyWithoutTemplating": []any{".github/workflows/*"},
	}}
	if _, err := s.FetchTemplate(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	ws := filepath.Join(s.Workspaces.Dir, "t", "out")
	for file, want := range map[string]string{
		"README.md":                 "# pay\nOwned by TEAM-A\n",
		"pay/main.go":               "package pay\n",
		".github/workflows/ci.yaml": "run: ${{ github.sha }}\n",
	} {
		got, err := os.ReadFile(filepath.Join(ws, file))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", file, got, err, want)
		}
	}
	// fetch:plain copies without rendering.
	in.Input["targetPath"] = "plain"
	if _, err := s.FetchPlain(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "t", "plain", "README.md")); !strings.Contains(string(got), "${{ values.name }}") {
		t.Errorf("fetch:plain rendered: %q", got)
	}
}

func TestFetchRefusesEscapes(t *testing.T) {
	s, base := newScaffold(t)
	dir, tplBase := templateDir(t)
	outside := sentinel(t, base)
	os.Symlink(outside, filepath.Join(dir, "skeleton", "passwd"))
	cases := []struct {
		name  string
		input map[string]any
		want  string
	}{
		{"skeleton with a symlink", map[string]any{"url": "./skeleton"}, "symlink or special file"},
		{"url climbing out", map[string]any{"url": "../../"}, "leaves the template's directory"},
		{"absolute url path", map[string]any{"url": "/etc"}, "leaves the template's directory"},
		{"remote directory url", map[string]any{"url": "https://example.com/skeleton"}, "must be a .tar.gz or .tgz archive"},
		{"other scheme", map[string]any{"url": "ftp://example.com/x.tgz"}, "only http(s) URLs"},
		{"targetPath traversal", map[string]any{"url": "./skeleton/README.md", "targetPath": "../../.ssh"}, "leaves the task workspace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.FetchTemplate(context.Background(), contract.ActionInput{TaskID: "t", TemplateBaseURL: tplBase, Input: c.input})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want %q, got %v", c.want, err)
			}
			if got, _ := os.ReadFile(outside); string(got) != "do not touch" {
				t.Fatal("file outside changed")
			}
		})
	}
}

// TestFetchTemplateReplace: fetch:template keeps files already in the
// workspace unless replace is true (Backstage's behaviour).
func TestFetchTemplateReplace(t *testing.T) {
	s, _ := newScaffold(t)
	_, base := templateDir(t)
	ctx := context.Background()
	if _, err := s.FsWrite(ctx, contract.ActionInput{TaskID: "r", Input: map[string]any{"path": "out/README.md", "content": "mine"}}); err != nil {
		t.Fatal(err)
	}
	in := func(replace bool) contract.ActionInput {
		return contract.ActionInput{TaskID: "r", TemplateBaseURL: base, Input: map[string]any{"url": "./skeleton", "targetPath": "out", "replace": replace, "values": map[string]any{"name": "svc", "owner": "me"}}}
	}
	out, err := s.FetchTemplate(ctx, in(false))
	if err != nil {
		t.Fatal(err)
	}
	readme := filepath.Join(s.Workspaces.Dir, "r", "out", "README.md")
	if got, _ := os.ReadFile(readme); string(got) != "mine" || !strings.Contains(strings.Join(out.Logs, "\n"), "kept existing out/README.md") {
		t.Fatalf("without replace: %q %v", got, out.Logs)
	}
	if _, err := s.FetchTemplate(ctx, in(true)); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(readme); !strings.HasPrefix(string(got), "# svc") {
		t.Fatalf("with replace: %q", got)
	}
}

// TestFetchTemplateTextOptions: trimBlocks and lstripBlocks shape the
// rendered text as Nunjucks does.
func TestFetchTemplateTextOptions(t *testing.T) {
	s, _ := newScaffold(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755)
	os.WriteFile(filepath.Join(dir, "skeleton", "list.txt"), []byte("tags:\n  {% for t in values.tags %}\n  - ${{ t }}\n  {% endfor %}\nend\n"), 0o644)
	base := "file://" + filepath.Join(dir, "template.yaml")
	for name, c := range map[string]struct {
		opts map[string]any
		want string
	}{
		"none": {nil, "tags:\n  \n  - a\n  \n  - b\n  \nend\n"},
		"both": {map[string]any{"trimBlocks": true, "lstripBlocks": true}, "tags:\n  - a\n  - b\nend\n"},
	} {
		input := map[string]any{"url": "./skeleton", "targetPath": name, "values": map[string]any{"tags": []any{"a", "b"}}}
		maps.Copy(input, c.opts)
		if _, err := s.FetchTemplate(context.Background(), contract.ActionInput{TaskID: "o", TemplateBaseURL: base, Input: input}); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "o", name, "list.txt")); string(got) != c.want {
			t.Errorf("%s: %q, want %q", name, got, c.want)
		}
	}
}

// TestFetchCookiecutter renders a real cookiecutter skeleton (the corpus's
// docs-template-cookiecutter, written for Backstage's Docker-based action)
// in-process, plus cookiecutter.json defaults and hooks.
func TestFetchCookiecutter(t *testing.T) {
	s, _ := newScaffold(t)
	tpl, err := filepath.Abs("../../shared/corpus/software-templates/scaffolder-templates/docs-template-cookiecutter/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tpl); err != nil {
		t.Fatalf("the corpus is missing (shared/corpus beside the repository): %v", err)
	}
	in := contract.ActionInput{TaskID: "cc", TemplateBaseURL: "file://" + tpl, Input: map[string]any{"url": "./skeleton", "values": map[string]any{
		"name": "pay-docs", "description": "Docs of pay", "owner": "group:default/team-a",
		"destination": map[string]any{"owner": "acme", "repo": "pay-docs", "host": "github.com"},
	}}}
	if _, err := s.Actions()["fetch:cookiecutter"](context.Background(), in); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "cc", "catalog-info.yaml"))
	for _, want := range []string{`name: "pay-docs"`, `description: "Docs of pay"`, "github.com/project-slug: acme/pay-docs", `owner: "group:default/team-a"`} {
		if !strings.Contains(string(got), want) {
			t.Errorf("catalog-info.yaml lacks %q:\n%s", want, got)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "cc", "mkdocs.yml")); !strings.HasPrefix(string(got), `site_name: "pay-docs"`) {
		t.Errorf("mkdocs.yml: %q", got)
	}

	// cookiecutter.json supplies defaults (a list's first choice); values
	// win; hooks are neither run nor copied, and the log says so.
	dir := t.TempDir()
	sk := filepath.Join(dir, "skeleton")
	os.MkdirAll(filepath.Join(sk, "hooks"), 0o755)
	os.WriteFile(filepath.Join(sk, "cookiecutter.json"), []byte(`{"name": "default-name", "slug": "{{ cookiecutter.name | upper }}-app", "license": ["MIT", "Apache-2.0"], "port": 8080, "_private": "x", "_copy_without_render": ["raw/*"]}`), 0o644)
	os.WriteFile(filepath.Join(sk, "hooks", "post_gen_project.py"), []byte("import os\n"), 0o644)
	os.WriteFile(filepath.Join(sk, "{{cookiecutter.name}}.txt"), []byte("{{ cookiecutter.name }} {{ cookiecutter.license }} {{ cookiecutter.port }} {{ cookiecutter.slug }}"), 0o644)
	os.MkdirAll(filepath.Join(sk, "raw"), 0o755)
	os.WriteFile(filepath.Join(sk, "raw", "ci.yaml"), []byte("run: {{ github.sha }}"), 0o644)
	in = contract.ActionInput{TaskID: "cc2", TemplateBaseURL: "file://" + filepath.Join(dir, "template.yaml"), Input: map[string]any{"url": "./skeleton", "values": map[string]any{"name": "svc"}}}
	out, err := s.FetchCookiecutter(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "cc2", "svc.txt")); string(got) != "svc MIT 8080 SVC-app" {
		t.Errorf("svc.txt = %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(s.Workspaces.Dir, "cc2", "raw", "ci.yaml")); string(got) != "run: {{ github.sha }}" {
		t.Errorf("_copy_without_render: raw/ci.yaml = %q", got)
	}
	for _, absent := range []string{"cookiecutter.json", "hooks"} {
		if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "cc2", absent)); err == nil {
			t.Errorf("%s was copied", absent)
		}
	}
	if !strings.Contains(strings.Join(out.Logs, "\n"), "hooks/post_gen_project.py is not run") {
		t.Errorf("logs: %q", out.Logs)
	}
	if _, set := in.Input["values"].(map[string]any)["license"]; set {
		t.Error("the step's input map was changed")
	}
	// A default written in Python (cookiecutter's Jinja) cannot be
	// rendered: the error names it, and passing the value avoids it.
	os.WriteFile(filepath.Join(sk, "cookiecutter.json"), []byte(`{"name": "n", "slug": "{{ cookiecutter.name.lower().replace(' ', '_') }}"}`), 0o644)
	in = contract.ActionInput{TaskID: "cc3", TemplateBaseURL: "file://" + filepath.Join(dir, "template.yaml"), Input: map[string]any{"url": "./skeleton", "values": map[string]any{"name": "svc"}}}
	if _, err := s.FetchCookiecutter(context.Background(), in); err == nil || !strings.Contains(err.Error(), "default of slug (pass slug in values instead)") {
		t.Errorf("python default: %v", err)
	}
	in.Input["values"] = map[string]any{"name": "svc", "slug": "svc"}
	if _, err := s.FetchCookiecutter(context.Background(), in); err != nil {
		t.Errorf("python default overridden by values: %v", err)
	}
	os.WriteFile(filepath.Join(sk, "cookiecutter.json"), []byte(`{"name": "n", "_copy_without_render": "raw/*"}`), 0o644)
	if _, err := s.FetchCookiecutter(context.Background(), in); err == nil || !strings.Contains(err.Error(), "cookiecutter.json: input _copy_without_render must be a list") {
		t.Errorf("_copy_without_render as a string: %v", err)
	}
}

// TestFetchTemplateExtensionConflicts: templateFileExtension with options
// that also choose which files render is refused, as Backstage refuses it.
func TestFetchTemplateExtensionConflicts(t *testing.T) {
	s, _ := newScaffold(t)
	_, base := templateDir(t)
	for name, extra := range map[string]map[string]any{
		"copyWithoutRender":     {"templateFileExtension": true, "copyWithoutRender": []any{"*.md"}},
		"copyWithoutTemplating": {"templateFileExtension": ".njk", "copyWithoutTemplating": []any{"*.md"}},
		"cookiecutterCompat":    {"templateFileExtension": true, "cookiecutterCompat": true},
		"not an extension":      {"templateFileExtension": 3},
	} {
		input := map[string]any{"url": "./skeleton", "targetPath": name}
		maps.Copy(input, extra)
		_, err := s.FetchTemplate(context.Background(), contract.ActionInput{TaskID: "x", TemplateBaseURL: base, Input: input})
		if err == nil || !strings.Contains(err.Error(), "templateFileExtension") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(s.Workspaces.Dir, "x", name)); err == nil {
			t.Errorf("%s: files were written", name)
		}
	}
}

// TestCookiecutterCopyWithoutRenderGlobs: _copy_without_render matches the
// way cookiecutter's fnmatch does: * crosses folders (*.raw matches
// sub/nested.raw), [!x] is a negated class, and patterns apply inside the
// project's top {{cookiecutter.*}} folder too.
func TestCookiecutterCopyWithoutRenderGlobs(t *testing.T) {
	s, _ := newScaffold(t)
	dir := t.TempDir()
	sk := filepath.Join(dir, "skeleton")
	files := map[string]string{
		"cookiecutter.json":                     `{"name": "n", "_copy_without_render": ["*.raw", "docs/*", "[!x]y.txt"]}`,
		"{{cookiecutter.name}}/top.raw":         "{{ keep }}",
		"{{cookiecutter.name}}/sub/nested.raw":  "{{ keep }}",
		"{{cookiecutter.name}}/docs/a/b.md":     "{{ keep }}",
		"{{cookiecutter.name}}/ay.txt":          "{{ keep }}",
		"{{cookiecutter.name}}/xy.txt":          "{{ cookiecutter.name }}",
		"{{cookiecutter.name}}/other/render.md": "{{ cookiecutter.name }}",
	}
	for name, content := range files {
		p := filepath.Join(sk, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	in := contract.ActionInput{TaskID: "ccglob", TemplateBaseURL: "file://" + filepath.Join(dir, "template.yaml"), Input: map[string]any{"url": "./skeleton", "values": map[string]any{"name": "svc"}}}
	if _, err := s.FetchCookiecutter(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"svc/top.raw": "{{ keep }}", "svc/sub/nested.raw": "{{ keep }}", "svc/docs/a/b.md": "{{ keep }}", "svc/ay.txt": "{{ keep }}",
		"svc/xy.txt": "svc", "svc/other/render.md": "svc",
	} {
		got, err := os.ReadFile(filepath.Join(s.Workspaces.Dir, "ccglob", filepath.FromSlash(name)))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q (%v), want %q", name, got, err, want)
		}
	}
	for pat, names := range map[string][2][]string{
		"*.raw":     {{"a.raw", "x/y/z.raw"}, {"a.rawx"}},
		"docs/*":    {{"docs/a", "docs/a/b"}, {"x/docs/a"}},
		"[!x]y.txt": {{"ay.txt"}, {"xy.txt"}},
		"a?c":       {{"abc", "a/c"}, {"ac"}},
		"[a-c]":     {{"b"}, {"d"}},
		"x[":        {{"x["}, {"x"}},
		"a.b+c":     {{"a.b+c"}, {"aXb+c"}},
	} {
		for _, n := range names[0] {
			if !fnmatch(pat, n) {
				t.Errorf("fnmatch(%q, %q) = false", pat, n)
			}
		}
		for _, n := range names[1] {
			if fnmatch(pat, n) {
				t.Errorf("fnmatch(%q, %q) = true", pat, n)
			}
		}
	}
}

// TestFetchTemplateOneBudget: every file of a skeleton is charged to one
// render budget, so many files each just under the iteration limit fail
// the step with the limit error instead of each getting a fresh budget.
func TestFetchTemplateOneBudget(t *testing.T) {
	r, err := templates.NewRenderer(templates.Limits{MaxIterations: 1000, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newScaffold(t)
	s.Renderer = r
	for _, action := range []string{"fetch:template", "fetch:cookiecutter"} {
		t.Run(action, func(t *testing.T) {
			dir := t.TempDir()
			sk := filepath.Join(dir, "skeleton")
			if err := os.MkdirAll(sk, 0o700); err != nil {
				t.Fatal(err)
			}
			// 10 files of 900 iterations: each alone fits.
			for i := range 10 {
				body := "{% for i in range(900) %}.{% endfor %}"
				if err := os.WriteFile(filepath.Join(sk, fmt.Sprintf("f%d.txt", i)), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			in := contract.ActionInput{TaskID: "budget", TemplateBaseURL: "file://" + filepath.Join(dir, "template.yaml"),
				Input: map[string]any{"url": "./skeleton", "targetPath": action, "values": map[string]any{"name": "x"}}}
			// One such file alone renders.
			one := filepath.Join(dir, "one")
			if err := os.MkdirAll(one, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(one, "f.txt"), []byte("{% for i in range(900) %}.{% endfor %}"), 0o600); err != nil {
				t.Fatal(err)
			}
			in1 := in
			in1.Input = maps.Clone(in.Input)
			in1.Input["url"] = "./one"
			in1.Input["targetPath"] = action + "-one"
			if _, err := s.Actions()[action](context.Background(), in1); err != nil {
				t.Fatalf("one file of 900 iterations: %v", err)
			}
			_, err := s.Actions()[action](context.Background(), in)
			if err == nil || !strings.Contains(err.Error(), "iteration") || !strings.Contains(err.Error(), "limit") {
				t.Fatalf("10 files of 900 iterations under a limit of 1000: err = %v", err)
			}
		})
	}
	// A cookiecutter.json default and a file share it too.
	dir := t.TempDir()
	sk := filepath.Join(dir, "skeleton")
	if err := os.MkdirAll(sk, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sk, "cookiecutter.json"), []byte(`{"pad": "{% for i in range(600) %}x{% endfor %}"}`), 0o600)
	os.WriteFile(filepath.Join(sk, "f.txt"), []byte("{% for i in range(600) %}.{% endfor %}"), 0o600)
	in := contract.ActionInput{TaskID: "budget", TemplateBaseURL: "file://" + filepath.Join(dir, "template.yaml"),
		Input: map[string]any{"url": "./skeleton", "targetPath": "cc", "values": map[string]any{"name": "x"}}}
	if _, err := s.Actions()["fetch:cookiecutter"](context.Background(), in); err == nil || !strings.Contains(err.Error(), "iteration") {
		t.Fatalf("a default and a file of 600 iterations each under a limit of 1000: err = %v", err)
	}
	in.Input["values"] = map[string]any{"name": "x", "pad": "given"} // the default is not rendered
	if _, err := s.Actions()["fetch:cookiecutter"](context.Background(), in); err != nil {
		t.Fatalf("a file of 600 iterations: %v", err)
	}
}
