package main

import (
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// junitCounts reads a JUnit XML file's totals and its test case names.
func junitCounts(t *testing.T, path string) (tests, failures int, names []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("the JUnit XML does not parse: %v\n%s", err, data)
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			names = append(names, c.Name)
		}
	}
	return doc.Tests, doc.Failures, names
}

// TestTemplateTestExamples runs the shipped templates' tests (make test
// runs them through this test): every example template has tests, and
// they all pass.
func TestTemplateTestExamples(t *testing.T) {
	root := filepath.Join("..", "..", "examples", "templates")
	tpls, err := filepath.Glob(filepath.Join(root, "*", "template.yaml"))
	if err != nil || len(tpls) == 0 {
		t.Fatalf("no example templates: %v", err)
	}
	for _, tp := range tpls {
		if _, err := os.Stat(filepath.Join(filepath.Dir(tp), "template.test.yaml")); err != nil {
			t.Errorf("%s ships without tests: %v", tp, err)
		}
	}
	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, stderr, err := runCLI(t, nil, "template", "test", root, "--junit", junit)
	if err != nil {
		t.Fatalf("rigger template test %s: %v\n%s%s", root, err, out, stderr)
	}
	tests, failures, _ := junitCounts(t, junit)
	if failures != 0 || tests < len(tpls) {
		t.Errorf("JUnit: %d tests, %d failures (want at least %d tests, no failure)\n%s", tests, failures, len(tpls), out)
	}
	if !strings.Contains(out, "faked: publish:github") {
		t.Errorf("the report names the faked actions:\n%s", out)
	}
	if strings.Contains(out, "correct-horse-battery") {
		t.Errorf("the report shows create-service's fake secret:\n%s", out)
	}
}

// TestTemplateTestCommand runs the real command on a fixture template:
// its snapshot, a fake, a skipped step and a bad input pass; a broken
// expectation fails the command (exit 1) and shows in the JUnit XML; and
// --update rewrites a snapshot a changed skeleton broke.
func TestTemplateTestCommand(t *testing.T) {
	src := filepath.Join("..", "..", "worker", "templatetest", "testdata", "svc")
	dir := filepath.Join(t.TempDir(), "svc")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(t.TempDir(), "junit.xml")
	out, stderr, err := runCLI(t, nil, "template", "test", dir, "--junit", junit)
	if err != nil {
		t.Fatalf("the fixture's cases pass: %v\n%s%s", err, out, stderr)
	}
	for _, want := range []string{"ok    renders and publishes", "faked: publish:github", "ok    a bad name is refused", "2 cases, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}

	// A second test file whose expectation does not hold.
	if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	broken := "cases:\n  - name: expects docs\n    values: {name: orders}\n    secrets: {token: s3cr3t-t0ken-value}\n    expect:\n      steps: {docs: completed}\n"
	if err := os.WriteFile(filepath.Join(dir, "tests", "broken.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, nil, "template", "test", dir, "--junit", junit)
	if exitCode(err) != 1 {
		t.Fatalf("a failing case exits 1, got %v\n%s", err, out)
	}
	if !strings.Contains(out, "FAIL  expects docs") || !strings.Contains(out, "expect.steps.docs: want completed, got skipped") {
		t.Errorf("the report shows the failure:\n%s", out)
	}
	if strings.Contains(out, "s3cr3t-t0ken-value") {
		t.Errorf("the report shows a fake secret:\n%s", out)
	}
	tests, failures, names := junitCounts(t, junit)
	if tests != 3 || failures != 1 || !strings.Contains(strings.Join(names, ","), "expects docs") {
		t.Errorf("JUnit: %d tests, %d failures, cases %v", tests, failures, names)
	}
	if err := os.Remove(filepath.Join(dir, "tests", "broken.yaml")); err != nil {
		t.Fatal(err)
	}

	// A changed skeleton breaks the snapshot; --update accepts it.
	if err := os.WriteFile(filepath.Join(dir, "skeleton", "NEW.md"), []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, nil, "template", "test", filepath.Join(dir, "template.yaml"))
	if exitCode(err) != 1 || !strings.Contains(out, "the run produced orders/NEW.md, which the snapshot does not hold") {
		t.Fatalf("want the snapshot to fail: %v\n%s", err, out)
	}
	if out, _, err = runCLI(t, nil, "template", "test", dir, "--update"); err != nil || !strings.Contains(out, "snapshot snapshots/orders written") {
		t.Fatalf("--update: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "snapshots", "orders", "orders", "NEW.md")); err != nil {
		t.Errorf("--update wrote the new file: %v", err)
	}
	if out, _, err = runCLI(t, nil, "template", "test", dir); err != nil {
		t.Fatalf("after --update: %v\n%s", err, out)
	}

	// A bad test file is a failure with its file and line.
	if err := os.WriteFile(filepath.Join(dir, "template.test.yaml"), []byte("cases:\n  - name: a\n    expect: {stpes: {}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, nil, "template", "test", dir)
	if exitCode(err) != 1 || !strings.Contains(out, "template.test.yaml:3: cases[0].expect.stpes: unknown field") {
		t.Errorf("a bad test file: %v\n%s", err, out)
	}
	// Nothing to test is a usage error.
	if _, _, err = runCLI(t, nil, "template", "test", t.TempDir()); exitCode(err) != 2 {
		t.Errorf("a folder without tests: %v", err)
	}
}

// TestTemplateValidateMultiDocument: a file of several templates is
// validated document by document, each reported by index and line.
func TestTemplateValidateMultiDocument(t *testing.T) {
	tpl := func(name, action string) string {
		return "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: {name: " + name + "}\nspec:\n  type: x\n  steps:\n    - {id: s, action: " + action + ", input: {message: hi}}\n"
	}
	path := filepath.Join(t.TempDir(), "multi.yaml")
	if err := os.WriteFile(path, []byte(tpl("one", "debug:log")+"---\n"+tpl("two", "no:such-action")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI(t, nil, "template", "validate", path)
	if exitCode(err) != 1 {
		t.Fatalf("the bad document fails validation: %v", err)
	}
	if !strings.Contains(out, path+" (document 1, line 1): template one") {
		t.Errorf("the good document is reported by index and line:\n%s", out)
	}
	if !strings.Contains(stderr, path+" (document 2, line 9): ") || !strings.Contains(stderr, `unknown action "no:such-action"`) {
		t.Errorf("the bad document is reported by index and line:\n%s", stderr)
	}
}

// TestTemplateTestWatch: --watch runs again when a file under the
// argument's folder changes, and stops when its context ends.
func TestTemplateTestWatch(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(file, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	c := &cli{stdout: &out, stderr: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan struct{}, 10)
	done := make(chan error, 1)
	go func() {
		done <- c.watchTests(ctx, []string{file}, func() (bool, error) { runs <- struct{}{}; return false, nil }, func() []string { return nil })
	}()
	<-runs
	// Wait until it watches: a change during the run would run it again
	// at once (TestTemplateTestWatchDuringRun), not through the poll.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "watching for changes"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the watch did not start watching after its first run:\n%s", out.String())
		}
	}
	// Nothing changed, nothing to run: the stamp is stable.
	if changed := treeStamp([]string{file}).changed(treeStamp([]string{file}), nil); len(changed) > 0 {
		t.Fatalf("the stamp of an unchanged folder changed: %v", changed)
	}
	// A new file beside it (a changed skeleton) is a change.
	if err := os.WriteFile(filepath.Join(dir, "skeleton.txt"), []byte("b"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case <-runs:
	case <-time.After(30 * time.Second):
		t.Fatal("did not run again after a change")
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ends without an error when stopped: %v", err)
	}
}

// TestTemplateTestWatchDuringRun: a file edited while a run goes on runs
// the tests again as soon as the run ends, with no further edit; what the
// run wrote itself (its snapshot folder, named by wrote) is not an edit.
func TestTemplateTestWatchDuringRun(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "template.yaml")
	snap := filepath.Join(dir, "__snapshots__", "case")
	if err := os.WriteFile(file, []byte("a"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	c := &cli{stdout: &out, stderr: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runs := make(chan int, 10)
	done := make(chan error, 1)
	n := 0
	once := func() (bool, error) {
		n++
		// Every run rewrites its snapshot, as --update does.
		if err := os.MkdirAll(snap, 0o755); err != nil {
			return true, err
		}
		if err := os.WriteFile(filepath.Join(snap, "out.txt"), []byte(strings.Repeat("x", n)), 0o644); err != nil {
			return true, err
		}
		if n == 1 { // the user saves the template while the first run goes on
			if err := os.WriteFile(file, []byte("edited"), 0o644); err != nil {
				return true, err
			}
		}
		runs <- n
		return false, nil
	}
	go func() {
		done <- c.watchTests(ctx, []string{dir}, once, func() []string { return []string{snap} })
	}()
	for want := 1; want <= 2; want++ {
		select {
		case got := <-runs:
			if got != want {
				t.Fatalf("run %d, want %d", got, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("run %d did not happen:\n%s", want, out.String())
		}
	}
	// The second run wrote its snapshot again and nothing else changed:
	// the watch waits for an edit instead of running a third time.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(out.String(), "watching for changes"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the watch did not start watching after the second run:\n%s", out.String())
		}
	}
	if got := out.String(); strings.Count(got, "changed during the run") != 1 || !strings.Contains(got, "template.yaml changed during the run") {
		t.Errorf("output should name the template edited during the first run, once:\n%s", got)
	}
	select {
	case got := <-runs:
		t.Fatalf("run %d with no edit after the second", got)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ends without an error when stopped: %v", err)
	}
}

// svcFixture is a copy of worker/templatetest's svc template and tests,
// in a folder named svc.
func svcFixture(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "worker", "templatetest", "testdata", "svc"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "svc")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTemplateTestWatchUpdateCLI: the command wires what a run writes into
// the watch: with --update and a --junit report inside the watched folder,
// the run's own snapshot and report are no edit, so one run is followed by
// watching (each of them, counted as an edit, would run it again forever).
func TestTemplateTestWatchUpdateCLI(t *testing.T) {
	dir := svcFixture(t)
	var out, errb syncBuffer
	c := &cli{stdout: &out, stderr: &errb, env: func(string) (string, bool) { return "", false }}
	root := c.rootCommand()
	root.SetArgs([]string{"template", "test", "--watch", "--update", "--junit", filepath.Join(dir, "report.xml"), dir})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(out.String(), "watching for changes"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the watch did not start watching:\n%s\n%s", out.String(), errb.String())
		}
	}
	got := out.String()
	if n := strings.Count(got, " failed ("); n != 1 || strings.Contains(got, "changed during the run") || !strings.Contains(got, "written (") {
		t.Errorf("want one run that wrote its snapshot, then watching; got %d runs:\n%s", n, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.xml")); err != nil {
		t.Errorf("no JUnit report: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("watch ends without an error when stopped: %v", err)
	}
}

// TestStampChanged: a watch's stamp comparison finds files added, removed
// and rewritten, and leaves out the paths it is told to ignore (a folder
// and all under it, or one file) but not their neighbours.
func TestStampChanged(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("keep.txt", "a")
	write("edit.txt", "a")
	write("gone.txt", "a")
	write("snap/out.txt", "a")
	write("snapshot.txt", "a")
	before := treeStamp([]string{dir})
	write("edit.txt", "bb")
	write("new.txt", "a")
	if err := os.Remove(filepath.Join(dir, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	write("snap/out.txt", "bb")
	write("snapshot.txt", "bb")
	write("report.xml", "a")
	got := before.changed(treeStamp([]string{dir}), []string{filepath.Join(dir, "snap"), filepath.Join(dir, "report.xml")})
	var names []string
	for _, p := range got {
		rel, _ := filepath.Rel(dir, p)
		names = append(names, rel)
	}
	if want := "edit.txt gone.txt new.txt snapshot.txt"; strings.Join(names, " ") != want {
		t.Errorf("changed: %v, want %s", names, want)
	}
}

// TestStampThroughLinks: a watched folder given as a symbolic link is
// walked (edits in it are seen), and a snapshot folder the run wrote
// through a link inside the tree is still left out.
func TestStampThroughLinks(t *testing.T) {
	top := t.TempDir()
	real := filepath.Join(top, "real")
	if err := os.MkdirAll(filepath.Join(real, "shared", "case"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"template.yaml", filepath.Join("shared", "case", "out.txt")} {
		if err := os.WriteFile(filepath.Join(real, f), []byte("a"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(top, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("shared", filepath.Join(real, "snapshots")); err != nil {
		t.Fatal(err)
	}
	before := treeStamp([]string{link})
	for _, f := range []string{"template.yaml", filepath.Join("shared", "case", "out.txt")} {
		if _, ok := before[filepath.Join(link, f)]; !ok {
			t.Fatalf("stamp of the linked folder lacks %s: %v", f, before)
		}
	}
	if err := os.WriteFile(filepath.Join(real, "shared", "case", "out.txt"), []byte("bb"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := before.changed(treeStamp([]string{link}), []string{filepath.Join(link, "snapshots", "case")}); len(got) != 0 {
		t.Errorf("the snapshot written through a link counted as an edit: %v", got)
	}
	if err := os.WriteFile(filepath.Join(real, "template.yaml"), []byte("bb"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := before.changed(treeStamp([]string{link}), []string{filepath.Join(link, "snapshots", "case")}); len(got) != 1 || filepath.Base(got[0]) != "template.yaml" {
		t.Errorf("changed through the link: %v, want template.yaml", got)
	}
}

// TestTemplateTestIgnoresCheckoutConfig: template test reads no
// ./rigger.yaml of the folder it runs in (a pull request could add one to
// widen what its cases may reach, or to quote the CI's environment in an
// error); only --config or RIGGER_CONFIG name a configuration.
func TestTemplateTestIgnoresCheckoutConfig(t *testing.T) {
	dir := svcFixture(t)
	if err := os.WriteFile(filepath.Join(dir, "rigger.yaml"), []byte("database:\n  driver: ${HOME}\nscaffolder:\n  allowedHosts: ['*']\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	out, stderr, err := runCLI(t, nil, "template", "test", ".")
	if err != nil || !strings.Contains(out, "2 cases, 0 failed") {
		t.Fatalf("template test in a folder with its own rigger.yaml: %v\n%s%s", err, out, stderr)
	}
	if _, _, err := runCLI(t, nil, "template", "test", ".", "--config", "rigger.yaml"); err == nil {
		t.Fatal("an invalid rigger.yaml named with --config was not read")
	}
}

// TestTemplateTestInit: rigger template test --init writes a starter
// template.test.yaml beside a template, which then passes; it never
// overwrites one, and a template whose starter run fails gets none, with
// the reason (exit 1).
func TestTemplateTestInit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "svc")
	if err := os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755); err != nil {
		t.Fatal(err)
	}
	tpl := `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: starter}
spec:
  type: service
  parameters:
    - required: [name]
      properties:
        name: {type: string, pattern: '^[a-z]+$'}
  steps:
    - id: base
      action: fetch:template
      input: {url: 'https://github.com/acme/skeletons/tree/main/base', values: {name: '${{ parameters.name }}'}}
    - id: own
      action: fetch:template
      input: {url: ./skeleton, values: {name: '${{ parameters.name }}'}}
    - id: publish
      action: publish:github
      input: {repoUrl: 'github.com?owner=acme&repo=${{ parameters.name }}'}
`
	for name, content := range map[string]string{"template.yaml": tpl, "skeleton/README.md": "# ${{ values.name }}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, err := runCLI(t, nil, "template", "test", "--init", dir)
	if err != nil || !strings.Contains(out, "wrote "+filepath.Join(dir, "template.test.yaml")) {
		t.Fatalf("--init: %v\n%s%s", err, out, stderr)
	}
	written, err := os.ReadFile(filepath.Join(dir, "template.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name: example\n", "https://github.com/acme/skeletons/tree/main/base: record\n", "publish: completed\n"} {
		if !strings.Contains(string(written), want) {
			t.Errorf("the starter lacks %q:\n%s", want, written)
		}
	}
	if out, stderr, err = runCLI(t, nil, "template", "test", dir); err != nil || !strings.Contains(out, "ok    starter") {
		t.Fatalf("the starter passes: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err = runCLI(t, nil, "template", "test", "--init", dir); exitCode(err) != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("a second --init: %v %s", err, stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "template.test.yaml")); string(again) != string(written) {
		t.Errorf("--init overwrote the test file")
	}
	// The pattern takes none of the starter guesses: no file, the reason.
	if err := os.Remove(filepath.Join(dir, "template.test.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "template.yaml"), []byte(strings.Replace(tpl, "^[a-z]+$", "^[0-9]{6}$", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err = runCLI(t, nil, "template", "test", "--init", filepath.Join(dir, "template.yaml")); exitCode(err) != 1 ||
		!strings.Contains(stderr, "no starter test written") || !strings.Contains(stderr, "parameters.name") {
		t.Errorf("a failing starter: %v %s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "template.test.yaml")); err == nil {
		t.Errorf("a failing starter was written")
	}
}
