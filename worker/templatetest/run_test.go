package templatetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/templates"
)

func newRunner(t testing.TB) *Runner {
	t.Helper()
	r, err := templates.NewRenderer(templates.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &Runner{Scaffold: &activities.Scaffold{Renderer: r, Logger: discard}, Actions: contract.NewRegistry(nil)}
}

// copyDir copies the folder src into a new temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// runTest writes test as dir's template.test.yaml and runs dir's tests.
func runTest(t *testing.T, dir, test string) *Report {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "template.test.yaml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := newRunner(t).Run(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func byCase(rep *Report) map[string]Result {
	out := map[string]Result{}
	for _, r := range rep.Results {
		out[r.Case] = r
	}
	return out
}

// TestRunFixture runs testdata/svc's cases: the real workflow renders the
// skeleton (compared with its snapshot), skips a step by its if, calls the
// publish:github fake (checked and recorded), refuses a bad input with the
// expected error, and the report names the fake and hides the secret.
func TestRunFixture(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "svc"))
	r := newRunner(t)
	rep, err := r.Run(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if rep.Failed() != 0 || len(rep.Results) != 2 {
		t.Fatalf("want 2 passing cases:\n%s", text.String())
	}
	if got := byCase(rep)["renders and publishes"].Faked; len(got) != 1 || got[0] != "publish:github" {
		t.Errorf("faked: %v", got)
	}
	if !strings.Contains(text.String(), "faked: publish:github") {
		t.Errorf("the report names the fakes:\n%s", text.String())
	}

	// A broken skeleton fails the snapshot with a diff of the file.
	readme := filepath.Join(dir, "skeleton", "README.md")
	if err := os.WriteFile(readme, []byte("# ${{ values.name }}\n\nA broken service.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = r.Run(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	res := byCase(rep)["renders and publishes"]
	msg := strings.Join(res.Failures, "\n")
	if res.Passed() || !strings.Contains(msg, "orders/README.md differs") || !strings.Contains(msg, "- A service.") || !strings.Contains(msg, "+ A broken service.") {
		t.Fatalf("want a snapshot diff, got %v", res.Failures)
	}
	if res.Wrote != "" {
		t.Errorf("a comparing run says it wrote %s", res.Wrote)
	}
	// --update accepts it, and says which folder it wrote (a watch does
	// not take that for an edit); the next run passes.
	r.Update = true
	if rep, _ = r.Run(context.Background(), []string{dir}); rep.Failed() != 0 {
		t.Fatalf("update: %v", rep.Results)
	}
	if got := byCase(rep)["renders and publishes"].Wrote; got == "" || !strings.HasPrefix(filepath.Join(got, "orders", "README.md"), dir) {
		t.Errorf("the update wrote %q, want the case's snapshot folder under %s", got, dir)
	} else if _, err := os.Stat(filepath.Join(got, "orders", "README.md")); err != nil {
		t.Errorf("the folder the update names holds no orders/README.md: %v", err)
	}
	r.Update = false
	if rep, _ = r.Run(context.Background(), []string{dir}); rep.Failed() != 0 {
		t.Fatalf("after update: %v", rep.Results)
	}
}

// TestExpectationsBite: each kind of expectation fails when the run does
// not show it, with a message naming what differs.
func TestExpectationsBite(t *testing.T) {
	dir := copyDir(t, filepath.Join("testdata", "svc"))
	test := `cases:
  - name: wrong
    values: {name: orders, docs: true}
    secrets: {token: s3cr3t-t0ken-value}
    fakes:
      publish:github: {output: {remoteUrl: https://example.test/orders.git, repoContentsUrl: https://example.test/orders}}
    expect:
      steps: {docs: skipped, nope: completed}
      outputs: {publish: {remoteUrl: https://example.test/other.git}}
      output: {links: [{url: https://example.test/x.git}]}
      log: [never logged]
      notLog: ["token is"]
      calls: {publish:github: [{}, {}]}
      snapshot: snapshots/orders
  - name: wants an error
    values: {name: orders}
    expect: {error: something else}
  - name: wrong error
    values: {name: Orders!}
    expect: {error: parameters.docs}
  - name: bad fake output
    values: {name: orders}
    fakes:
      publish:github: {output: {remoteUrl: 42, repoContentsUrl: u}}
    expect: {steps: {publish: completed}}
  - name: typo in fakes
    values: {name: orders}
    fakes:
      publish:gihtub: {output: {}}
    expect: {}
  - name: a fake error fails the run
    values: {name: orders}
    fakes:
      publish:github: {error: "it broke: s3cr3t-t0ken-value"}
    secrets: {token: s3cr3t-t0ken-value}
    expect: {error: "it broke"}
`
	rep := runTest(t, dir, test)
	got := byCase(rep)
	wrong := strings.Join(got["wrong"].Failures, "\n")
	for _, want := range []string{
		"expect.steps.docs: want skipped, got completed",
		"expect.steps.nope: the template has no such step",
		`expect.outputs.publish.remoteUrl: want "https://example.test/other.git", got "https://example.test/orders.git"`,
		`expect.output.links[0].url: want "https://example.test/x.git", got "https://example.test/orders.git"`,
		`expect.log: no log line contains "never logged"`,
		`expect.notLog: a log line contains "token is"`,
		"expect.calls.publish:github: want 2 calls, got 1",
		"the run produced orders/docs/index.md, which the snapshot does not hold",
	} {
		if !strings.Contains(wrong, want) {
			t.Errorf("case wrong: want a failure %q in\n%s", want, wrong)
		}
	}
	for name, want := range map[string]string{
		"wants an error":  `expect.error: want the run to fail with "something else", but it completed`,
		"wrong error":     `expect.error: want an error containing "parameters.docs", got: the input is refused`,
		"bad fake output": "does not match the action's output schema",
		"typo in fakes":   "fakes.publish:gihtub: neither a step id of the template nor a faked action",
	} {
		if msg := strings.Join(got[name].Failures, "\n"); !strings.Contains(msg, want) {
			t.Errorf("case %s: want a failure %q, got %q", name, want, msg)
		}
	}
	if !got["a fake error fails the run"].Passed() {
		t.Errorf("a fake's declared error fails the run: %v", got["a fake error fails the run"].Failures)
	}

	// Secrets never reach the report or the JUnit XML, even where a
	// failure quotes a log line or a fake's error holding one.
	text, junit := writeBoth(t, rep)
	for name, out := range map[string]string{"report": text, "junit": junit} {
		if strings.Contains(out, "s3cr3t-t0ken-value") {
			t.Errorf("the %s holds a fake secret:\n%s", name, out)
		}
	}
	var parsed junitSuites
	if err := xml.Unmarshal([]byte(junit), &parsed); err != nil {
		t.Fatalf("JUnit XML does not parse: %v\n%s", err, junit)
	}
	if parsed.Tests != 6 || parsed.Failures != 5 || len(parsed.Suites) != 1 || parsed.Suites[0].Failures != 5 {
		t.Errorf("JUnit counts: tests %d failures %d suites %d", parsed.Tests, parsed.Failures, len(parsed.Suites))
	}
}

// TestFakeChecksInput: a fake refuses an input its action's schema
// refuses, and the run fails at that step.
func TestFakeChecksInput(t *testing.T) {
	reg := contract.NewRegistry(nil)
	rec := &recorder{}
	fakes := rec.fakes(reg, []string{"publish:github"}, nil)
	_, err := fakes["publish:github"](context.Background(), contract.ActionInput{StepID: "p", Input: map[string]any{"sourcePath": 3}})
	if err == nil || !strings.Contains(err.Error(), "does not match the action's schema") {
		t.Fatalf("want a schema error, got %v", err)
	}
	if len(rec.Calls()) != 0 {
		t.Error("a refused input is not a call")
	}
	if names := FakedActions(reg); !slices.Contains(names, "catalog:register") || !slices.Contains(names, "publish:github") || !slices.Contains(names, "terraform:apply") || slices.Contains(names, "fs:write") || slices.Contains(names, "catalog:fetch") {
		t.Errorf("faked actions: %v", names)
	}
}

// TestMultiDocumentTemplate: a case picks its template by name from a
// file of several; without a name it is told which there are.
func TestMultiDocumentTemplate(t *testing.T) {
	dir := t.TempDir()
	tpl := func(name string) string {
		return "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: " + name + "}\nspec:\n  type: x\n  steps:\n    - {id: s, action: debug:log, input: {message: 'I am " + name + "'}}\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(tpl("one")+"---\n"+tpl("two")), 0o644); err != nil {
		t.Fatal(err)
	}
	got := byCase(runTest(t, dir, "cases:\n  - {name: picks two, template: two, expect: {log: [I am two]}}\n  - {name: no pick, expect: {}}\n"))
	if !got["picks two"].Passed() {
		t.Errorf("picks two: %v", got["picks two"].Failures)
	}
	if msg := strings.Join(got["no pick"].Failures, ""); !strings.Contains(msg, "holds 2 templates (one, two)") {
		t.Errorf("no pick: %q", msg)
	}
}

// TestReportRedactsSecrets: whatever text a result carries (a failure
// quoting a faked action's input, a log line, the case name), the text
// report and the JUnit XML show the case's fake secrets as ***.
func TestReportRedactsSecrets(t *testing.T) {
	const secret = "hunter2-fake-secret"
	rep := &Report{Results: []Result{{
		File: "t.test.yaml", Template: "t", Case: "case " + secret, Line: 3,
		Failures: []string{`expect.calls.publish:github[0].description: want "x", got "` + secret + `"`},
		Log:      []string{"[publish] token " + secret}, Faked: []string{"publish:github"},
		secrets: []string{secret, "hunter2"},
	}}}
	text, junit := writeBoth(t, rep)
	for name, out := range map[string]string{"report": text, "junit": junit} {
		if strings.Contains(out, "hunter2") || strings.Count(out, "***") < 3 {
			t.Errorf("the %s must show the secret as ***:\n%s", name, out)
		}
	}
}

// TestReportRedactsSecretForms: a report hides more than the exact value,
// as a task's log does: each line of a multi-line secret (re-indented when
// written into YAML) and the secret's URL-escaped and base64 forms.
func TestReportRedactsSecretForms(t *testing.T) {
	const pem = "-----BEGIN FAKE KEY-----\nMIIfakeKeyLineOne0123\nMIIfakeKeyLineTwo4567\n-----END FAKE KEY-----"
	const token = "fake token/with+specials"
	rep := &Report{Results: []Result{{
		File: "t.test.yaml", Template: "t", Case: "forms", Line: 3,
		Failures: []string{
			"expect.calls.publish:github[0].body: got \"key: |\n    MIIfakeKeyLineOne0123\n    MIIfakeKeyLineTwo4567\"",
			"expect.output.url: got \"https://x.example/?t=" + url.QueryEscape(token) + "\"",
			"expect.output.auth: got \"" + base64.StdEncoding.EncodeToString([]byte(token)) + "\"",
		},
		secrets: []string{pem, token},
	}}}
	text, junit := writeBoth(t, rep)
	for name, out := range map[string]string{"report": text, "junit": junit} {
		for _, leak := range []string{"MIIfakeKeyLineOne0123", "MIIfakeKeyLineTwo4567", url.QueryEscape(token), base64.StdEncoding.EncodeToString([]byte(token))} {
			if strings.Contains(out, leak) {
				t.Errorf("the %s shows a form of a fake secret (%q):\n%s", name, leak, out)
			}
		}
	}
}

// writeBoth returns rep's text report and JUnit XML.
func writeBoth(t *testing.T, rep *Report) (text, junit string) {
	t.Helper()
	var tb, jb bytes.Buffer
	if err := rep.WriteText(&tb); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJUnit(&jb); err != nil {
		t.Fatal(err)
	}
	return tb.String(), jb.String()
}

// TestCaseCannotReachTheNetwork: a test case runs with no HTTP client and
// no git, even when the Scaffold it is given carries a live fetch policy
// that allows the host (the CLI builds it from rigger.yaml): a template
// fetching a URL fails its step and the server sees no request.
func TestCaseCannotReachTheNetwork(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		io.WriteString(w, "fetched from the network\n")
	}))
	defer srv.Close()
	dir := t.TempDir()
	tpl := `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: fetches}
spec:
  type: service
  owner: team-a
  steps:
    - id: get
      action: fetch:plain:file
      input: {url: '` + srv.URL + `/file.txt', targetPath: file.txt}
`
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(tpl), 0o644); err != nil {
		t.Fatal(err)
	}
	test := "cases:\n  - name: fetch\n    expect:\n      steps: {get: completed}\n"
	if err := os.WriteFile(filepath.Join(dir, "template.test.yaml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t)
	open := netguard.NewClient(netguard.Policy{AllowedHosts: []string{"*"}, AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Setting: "scaffolder.allowedHosts"})
	r.Scaffold.Live = activities.NewSwapped(activities.ScaffoldFetch{HTTP: open})
	rep, err := r.Run(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the test case reached the network (%d requests)", n)
	}
	if res := byCase(rep)["fetch"]; res.Passed() {
		t.Fatalf("a fetch from the network passed: %+v", res)
	}
}

// TestSnapshotStaysInTheTestFolder: a snapshot folder reached through a
// symbolic link that leads out of the test file's folder is refused: the
// report shows nothing of the outside files, and --update neither removes
// nor writes anything outside.
func TestSnapshotStaysInTheTestFolder(t *testing.T) {
	dir := copyDir(t, "testdata/svc")
	outside := t.TempDir()
	secretFile := filepath.Join(outside, "orders", "service.yaml") // a file the run produces
	if err := os.MkdirAll(filepath.Dir(secretFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("outside-secret-line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "escape")); err != nil {
		t.Fatal(err)
	}
	test := `cases:
  - name: reads outside
    values: {name: orders}
    fakes:
      publish:github:
        output: {remoteUrl: https://github.com/acme/orders.git, repoContentsUrl: https://github.com/acme/orders/tree/main}
    expect:
      snapshot: escape
`
	rep := runTest(t, dir, test)
	res := byCase(rep)["reads outside"]
	if res.Passed() || strings.Contains(strings.Join(res.Failures, "\n"), "outside-secret-line") {
		t.Fatalf("a snapshot through a link out of the folder: %+v", res)
	}
	r := newRunner(t)
	r.Update = true
	if _, err := r.Run(context.Background(), []string{dir}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(secretFile)
	if err != nil || string(data) != "outside-secret-line\n" {
		t.Fatalf("--update changed a file outside the test folder: %q, %v", data, err)
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 1 {
		t.Fatalf("--update wrote outside the test folder: %v", entries)
	}
}

// TestTemplateOutsideIsRefused: a test file whose template: leaves its
// template's folder is refused by default (its cases do not run), and
// runs when the runner allows it.
func TestTemplateOutsideIsRefused(t *testing.T) {
	svc, err := filepath.Abs("testdata/svc")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, filepath.Join(svc, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	test := "template: " + filepath.ToSlash(rel) + "\ncases:\n  - name: refused\n    values: {name: Orders!}\n    expect: {error: parameters.name}\n"
	if err := os.WriteFile(filepath.Join(dir, "template.test.yaml"), []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRunner(t)
	rep, err := r.Run(context.Background(), []string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 0 || len(rep.LoadErrors) != 1 {
		t.Fatalf("a template outside the folder: %d results, load errors %v; want the file refused", len(rep.Results), rep.LoadErrors)
	}
	for _, e := range rep.LoadErrors {
		if !strings.Contains(e.Error(), "outside the test file's folder") {
			t.Fatalf("refusal: %v", e)
		}
	}
	r.TemplatesAnywhere = true
	if rep, err = r.Run(context.Background(), []string{dir}); err != nil || rep.Failed() != 0 || len(rep.Results) != 1 {
		t.Fatalf("allowed: %+v, %v", rep, err)
	}
}
