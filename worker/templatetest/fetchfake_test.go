package templatetest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// remoteTemplate fetches a remote skeleton (a git tree url), a folder of
// its repository outside its own (../shared), and a remote archive only
// to record it.
const remoteTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: remote}
spec:
  type: service
  parameters:
    - required: [name, owner]
      properties:
        name: {type: string, pattern: '^[a-z-]+$', examples: [orders]}
        tier: {type: string, enum: [gold, silver]}
        replicas: {type: integer, default: 2}
        owner: {type: string, ui:field: OwnerPicker}
  steps:
    - id: app
      action: fetch:template
      input: {url: 'https://github.com/acme/skeletons/tree/main/${{ parameters.name | length > 3 and "svc" or "x" }}', values: {name: '${{ parameters.name }}'}}
    - id: shared
      action: fetch:template
      input: {url: ../../shared/ci, targetPath: ci, values: {name: '${{ parameters.name }}'}}
    - id: extra
      action: fetch:plain
      input: {url: 'https://downloads.example.org/extra.tar.gz', targetPath: extra}
    - id: log
      action: debug:log
      input: {message: 'token ${{ secrets.DEPLOY_TOKEN }}'}
`

// remoteFakes is remoteTemplate with fake folders for its remote
// skeletons and the snapshot they render (fakedCase).
var remoteFakes = map[string]string{
	"template.yaml":          remoteTemplate,
	"fakes/svc/README.md":    "# ${{ values.name }}\n",
	"fakes/ci/pipeline.yaml": "name: ${{ values.name }}-ci\n",
	"snap/README.md":         "# orders\n",
	"snap/ci/pipeline.yaml":  "name: orders-ci\n",
}

// fakedCase is a test case named name that renders remoteFakes' fakes
// and compares them with its snapshot.
func fakedCase(name string) string {
	return `  - name: ` + name + `
    values: {name: orders, owner: group:default/a}
    secrets: {DEPLOY_TOKEN: tok-123456}
    fetch:
      https://github.com/acme/skeletons/tree/main/svc: fakes/svc
      ../../shared/ci: fakes/ci
      https://downloads.example.org/extra.tar.gz: record
    expect:
      steps: {app: completed, shared: completed, extra: completed}
      snapshot: snap
`
}

// writeTree writes files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFetchFakes: a case's fetch fakes stand in for remote and
// out-of-folder skeletons: a url mapped to a folder beside the test
// renders that folder for real (compared with a snapshot), record gives
// an empty skeleton and a note, a url not listed fails its step naming the
// fetch: field, and a fake folder outside the test's folder is refused.
func TestFetchFakes(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, remoteFakes)
	writeTree(t, dir, map[string]string{"../outside/svc/README.md": "outside\n"})
	rep := runTest(t, dir, `cases:
`+fakedCase("faked")+`  - name: not listed
    values: {name: orders, owner: group:default/a}
    secrets: {DEPLOY_TOKEN: tok-123456}
    fetch:
      ../../shared/ci: fakes/ci
    expect:
      error: 'url "https://github.com/acme/skeletons/tree/main/svc" is remote or outside the template''s folder'
  - name: a fake outside the test's folder
    values: {name: orders, owner: group:default/a}
    secrets: {DEPLOY_TOKEN: tok-123456}
    fetch:
      https://github.com/acme/skeletons/tree/main/svc: ../outside/svc
    expect:
      error: leaves the test file's folder
`)
	cases := byCase(rep)
	for _, name := range []string{"faked", "not listed", "a fake outside the test's folder"} {
		if !cases[name].Passed() {
			t.Errorf("case %q: %v", name, cases[name].Failures)
		}
	}
	notes := strings.Join(cases["faked"].Notes, "\n")
	for _, want := range []string{
		"fetch faked: https://github.com/acme/skeletons/tree/main/svc read from fakes/svc",
		"fetch faked: ../../shared/ci read from fakes/ci",
		"fetch faked (recorded, empty skeleton): https://downloads.example.org/extra.tar.gz",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("the report lacks %q:\n%s", want, notes)
		}
	}
	// The snapshot test bites: a changed fake folder fails it.
	writeTree(t, dir, map[string]string{"fakes/ci/pipeline.yaml": "name: ${{ values.name }}-pipeline\n"})
	rep, err := newRunner(t).Run(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if res := byCase(rep)["faked"]; res.Passed() || !strings.Contains(strings.Join(res.Failures, "\n"), "ci/pipeline.yaml differs") {
		t.Errorf("a changed fake folder must fail the snapshot: %v", res.Failures)
	}
}

// TestFetchFakeFieldErrors: a fetch fake for a url inside the template's
// folder (which a test reads for real) or with an absolute folder is
// refused with its file, line and field.
func TestFetchFakeFieldErrors(t *testing.T) {
	for _, c := range []struct{ fetch, want string }{
		{"./skeleton: fakes/x", "f.test.yaml:4: cases[0].fetch../skeleton: must be an http(s) url or a relative one leaving the template's folder"},
		{"https://x.example/a.tgz: /etc", "f.test.yaml:4: cases[0].fetch.https://x.example/a.tgz: must be a folder (or file) relative to the test file, or record"},
		{"https://x.example/a.tgz: [a]", "f.test.yaml:4: cases[0].fetch.https://x.example/a.tgz: must be a string"},
	} {
		_, err := ParseFile("f.test.yaml", []byte("cases:\n  - name: a\n    fetch:\n      "+c.fetch+"\n    expect: {}\n"))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("fetch %s: got %v, want %s", c.fetch, err, c.want)
		}
	}
}

// TestInit: the starter case of a template takes each required or
// offered parameter's example, enum value, default or picker-shaped
// value, gives its secrets fake values, records its remote and
// out-of-folder skeletons, fakes the actions rigger lacks, expects the
// step statuses it saw, and passes when run; a file of two templates gets
// a case for each; a template whose starter run fails gets an error
// naming why and no case.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"template.yaml": strings.Replace(remoteTemplate, "    - id: log\n",
		"    - id: notify\n      action: acme:notify\n      input: {to: ops}\n    - id: log\n", 1)})
	r := newRunner(t)
	out := filepath.Join(dir, "template.test.yaml")
	data, err := r.Init(context.Background(), filepath.Join(dir, "template.yaml"), out)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, want := range []string{
		"template: template.yaml\n",
		"name: orders\n", "replicas: 2\n", "tier: gold\n", "owner: group:default/example-team\n",
		"DEPLOY_TOKEN: fake-deploy_token\n",
		"https://github.com/acme/skeletons/tree/main/svc: record\n", "../../shared/ci: record\n", "https://downloads.example.org/extra.tar.gz: record\n",
		"acme:notify: {}\n",
		"app: completed\n", "notify: completed\n", "log: completed\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the starter case lacks %q:\n%s", want, text)
		}
	}
	// The case as written passes.
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := r.Run(context.Background(), []string{dir})
	if err != nil || rep.Failed() != 0 || len(rep.Results) != 1 {
		t.Fatalf("the starter case: %v %+v", err, rep)
	}
	// A file of two templates: a case each, picked by name; a default of
	// the wrong type (a string's {}) is passed over for a string.
	two := strings.Replace(remoteTemplate, "        replicas: {type: integer, default: 2}\n", "        replicas: {type: integer, default: 2}\n        vars: {type: string, default: {}}\n", 1) +
		"---\n" + strings.Replace(remoteTemplate, "metadata: {name: remote}", "metadata: {name: second}", 1)
	writeTree(t, dir, map[string]string{"two/template.yaml": two})
	data, err = r.Init(context.Background(), filepath.Join(dir, "two", "template.yaml"), filepath.Join(dir, "two", "template.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if text := string(data); !strings.Contains(text, "- name: starter of remote\n") || !strings.Contains(text, "- name: starter of second\n") || !strings.Contains(text, "template: remote\n") ||
		!strings.Contains(text, "template: second\n") || !strings.Contains(text, "vars: example\n") {
		t.Errorf("the starter of a file of two:\n%s", text)
	}
	if err := os.WriteFile(filepath.Join(dir, "two", "template.test.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if rep, err := r.Run(context.Background(), []string{filepath.Join(dir, "two")}); err != nil || rep.Failed() != 0 || len(rep.Results) != 2 {
		t.Fatalf("the starter cases of a file of two: %v %+v", err, rep)
	}
	// A template that cannot run with starter values: no case, the reason.
	writeTree(t, dir, map[string]string{"bad/template.yaml": strings.Replace(remoteTemplate, "examples: [orders]", "examples: [Orders]", 1)})
	if _, err := r.Init(context.Background(), filepath.Join(dir, "bad", "template.yaml"), filepath.Join(dir, "bad", "t.test.yaml")); err == nil ||
		!strings.Contains(err.Error(), "the starter case fails, so it is not written") || !strings.Contains(err.Error(), "parameters.name") {
		t.Errorf("a failing starter: %v", err)
	}
}

// TestFetchFakeSymlinks: a fake that passes the textual check but
// reaches outside the test's folder through a symlink is refused — a
// symlinked fake folder, and a fake under a symlinked parent — with a
// message naming the url and the fake; a real fake beside them still
// renders.
func TestFetchFakeSymlinks(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "tpl")
	writeTree(t, dir, remoteFakes)
	writeTree(t, top, map[string]string{"home/svc/README.md": "outside secret\n"})
	if err := os.Symlink(filepath.Join(top, "home", "svc"), filepath.Join(dir, "fakes", "skel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(top, "home"), filepath.Join(dir, "fakes", "up")); err != nil {
		t.Fatal(err)
	}
	rep := runTest(t, dir, `cases:
`+fakedCase("real")+`  - name: symlinked fake
    values: {name: orders, owner: group:default/a}
    secrets: {DEPLOY_TOKEN: tok-123456}
    fetch:
      https://github.com/acme/skeletons/tree/main/svc: fakes/skel
    expect:
      error: 'url "https://github.com/acme/skeletons/tree/main/svc": its fake fakes/skel: it is a symlink'
  - name: symlinked parent
    values: {name: orders, owner: group:default/a}
    secrets: {DEPLOY_TOKEN: tok-123456}
    fetch:
      https://github.com/acme/skeletons/tree/main/svc: fakes/up/svc
    expect:
      error: 'url "https://github.com/acme/skeletons/tree/main/svc": its fake fakes/up/svc: it leaves the test file''s folder through a symlink'
`)
	for name, res := range byCase(rep) {
		if !res.Passed() {
			t.Errorf("case %q: %v", name, res.Failures)
		}
	}
	if len(byCase(rep)) != 3 {
		t.Errorf("want 3 cases, got %d", len(byCase(rep)))
	}
}
