package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// browserTimeout bounds one run of every browser scenario.
const browserTimeout = 15 * time.Minute

// TestBrowserUI drives the web UI in a real Chromium: a `rigger dev` on
// free ports with a fresh data dir and the examples' config, then web/e2e/run.mjs (playwright-core)
// with every scenario of web/e2e/scenarios. Screenshots go to $ARTIFACTS,
// by default test-artifacts/ui at the repository's root. SCENARIOS (a
// regular expression over the scenario file names) runs a subset.
//
// Building the UI is not this test's job: the binary under test must embed
// it (`make build`).
func TestBrowserUI(t *testing.T) {
	needBinary(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("browser e2e: node is not installed (Node 20 runs web/e2e/run.mjs)")
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("browser e2e: no Chromium at %s (apt-get install chromium, or set CHROMIUM)", chromium)
	}
	root := repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "web", "node_modules", "playwright-core")); err != nil {
		t.Fatalf("web/node_modules has no playwright-core: run `make build` (it runs npm ci in web/) first")
	}
	artifacts := os.Getenv("ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(root, "test-artifacts", "ui")
	}
	artifacts, err = filepath.Abs(artifacts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", artifacts)

	// What `make run` starts: the example catalog and templates, a fresh data dir.
	p := startDevWith(t, t.TempDir(), cleanEnv(), "--config", filepath.Join(root, "examples", "rigger.yaml"), "--data-dir", t.TempDir())
	needBuiltUI(t, p.api)

	ctx, cancel := context.WithTimeout(t.Context(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("web", "e2e", "run.mjs"))
	cmd.Dir = root
	env := []string{"RIGGER_URL=" + p.api, "ARTIFACTS=" + artifacts, "CHROMIUM=" + chromium}
	if s := os.Getenv("SCENARIOS"); s != "" {
		env = append(env, "SCENARIOS="+s)
	}
	cmd.Env = cleanEnv(env...)
	// Chromium runs in node's process group: a timeout ends them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	out := streamLines(t, cmd)
	if err := cmd.Start(); err != nil {
		out() // Start closed the pipes: the readers end
		t.Fatalf("start node: %v", err)
	}
	lines := out() // before Wait, which closes the pipes
	runErr := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("browser scenarios did not finish within %s", browserTimeout)
	}
	if runErr != nil {
		t.Fatalf("browser scenarios failed (%v); screenshots in %s", runErr, artifacts)
	}
	// The runner's last line is its summary; a run that passed nothing did not test.
	if len(lines) == 0 || !regexp.MustCompile(`^[1-9][0-9]* passed, 0 failed$`).MatchString(lines[len(lines)-1]) {
		t.Fatalf("the runner exited 0 without a passing summary line; output ends %q", lines[max(0, len(lines)-3):])
	}
}

// needBuiltUI fails unless the rigger at api serves the web app at /:
// index.html with the app's root element, not the page saying the UI was
// not built.
func needBuiltUI(t testing.TB, api string) {
	t.Helper()
	resp, err := http.Get(api + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `<div id="root">`) {
		t.Fatalf("GET / did not serve the web app (status %d, %.120q): the rigger under test (%s) was built without the UI; run `make build` and test that binary (RIGGER_BIN)",
			resp.StatusCode, body, riggerBin)
	}
}

// streamLines logs cmd's stdout and stderr line by line as they come and
// returns a function that waits for both to end and gives stdout's lines.
func streamLines(t *testing.T, cmd *exec.Cmd) func() []string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var lines []string
	read := func(r io.Reader, keep bool) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
			if keep {
				lines = append(lines, sc.Text())
			}
		}
	}
	wg.Add(2)
	go read(stdout, true)
	go read(stderr, false)
	return func() []string {
		wg.Wait()
		return lines
	}
}
