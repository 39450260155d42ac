package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/testtools"
)

// riggerBin is the binary under test: $RIGGER_BIN (the Makefile builds it once
// per test run) or one built by TestMain into a temp dir.
var riggerBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	defer builds.removeAll()
	if testing.Short() {
		return m.Run()
	}
	riggerBin = os.Getenv("RIGGER_BIN")
	if riggerBin == "" {
		dir, err := os.MkdirTemp("", "rigger-e2e-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		riggerBin = filepath.Join(dir, "rigger")
		fmt.Fprintln(os.Stderr, "e2e: building rigger (set RIGGER_BIN to reuse a build)...")
		build := exec.Command("go", "build", "-o", riggerBin, "../../cmd/rigger")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build rigger:", err)
			return 1
		}
	}
	return m.Run()
}

// builds are temp dirs of binaries built once per test process.
var builds tempDirs

type tempDirs struct {
	mu   sync.Mutex
	dirs []string
}

func (d *tempDirs) add(dir string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dirs = append(d.dirs, dir)
}

func (d *tempDirs) removeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dir := range d.dirs {
		_ = os.RemoveAll(dir)
	}
}

func needBinary(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: starts the real rigger binary; skipped in -short mode")
	}
}

// syncBuffer collects a process's output for assertions while it runs.
type syncBuffer = testtools.SyncBuffer

// logLines parses the JSON log lines in s.
func logLines(s string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var m map[string]any
		if json.Unmarshal(line, &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// countLogs counts log lines whose fields all equal want.
func countLogs(s string, want map[string]any) int {
	n := 0
	for _, l := range logLines(s) {
		ok := true
		for k, v := range want {
			if fmt.Sprint(l[k]) != fmt.Sprint(v) {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

type ports struct {
	api, frontend, ui int
}

// freePorts finds three free ports for a rigger process. They come from
// below the kernel's ephemeral range (32768-60999 here): ports taken with
// :0 and then closed could be handed to any outgoing connection or ":0"
// listener of another test process before rigger binds them (a flake seen
// as "address already in use"). Each test process starts at its own
// pid-derived offset and walks on, checking each port is free.
func freePorts(t testing.TB) ports {
	t.Helper()
	var ps []int
	for len(ps) < 3 {
		port := nextTestPort()
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // in use: try the next one
		}
		l.Close()
		ps = append(ps, port)
	}
	return ports{api: ps[0], frontend: ps[1], ui: ps[2]}
}

// testPorts hands out candidate ports in [testPortLow, testPortHigh).
var testPorts = struct {
	sync.Mutex
	next int
}{}

const testPortLow, testPortHigh = 20000, 32000

func nextTestPort() int {
	testPorts.Lock()
	defer testPorts.Unlock()
	if testPorts.next == 0 {
		testPorts.next = testPortLow + (os.Getpid()*97)%(testPortHigh-testPortLow)
	}
	p := testPorts.next
	testPorts.next++
	if testPorts.next >= testPortHigh {
		testPorts.next = testPortLow
	}
	return p
}

type proc struct {
	cmd    *exec.Cmd
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
	api    string
}

// cleanEnv gives the child a minimal environment so the developer's RIGGER_*
// variables cannot change what a test sees. RIGGER_E2E_PPROF_LISTEN becomes
// the child's RIGGER_PPROF_LISTEN, to profile the server during one
// benchmark (one rigger at a time: a second could not listen there).
func cleanEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if addr := os.Getenv("RIGGER_E2E_PPROF_LISTEN"); addr != "" {
		env = append(env, "RIGGER_PPROF_LISTEN="+addr)
	}
	return append(env, extra...)
}

// start runs rigger with args; it is killed at test cleanup if still running.
func start(t testing.TB, dir string, env []string, args ...string) *proc {
	t.Helper()
	return startBin(t, riggerBin, dir, env, args...)
}

// startBin is start with another rigger binary (e.g. one built without the
// embedded Temporal server).
func startBin(t testing.TB, bin, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rigger: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("rigger %v stdout:\n%s", args, p.stdout.String())
			t.Logf("rigger %v stderr (last 8k):\n%s", args, tail(p.stderr.String(), 8192))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// startDev starts `rigger dev` on ps with dataDir and waits for /readyz.
func startDev(t testing.TB, dataDir string, ps ports) *proc {
	t.Helper()
	p := start(t, t.TempDir(), cleanEnv(), "dev",
		"--data-dir", dataDir,
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api),
		"--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend),
		"--temporal-ui-listen", fmt.Sprintf("127.0.0.1:%d", ps.ui),
	)
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)
	return p
}

// startTemporalOnly starts `rigger dev --temporal-only` (the embedded
// Temporal server alone) and returns it with its frontend address.
func startTemporalOnly(t testing.TB, dataDir string) (*proc, string) {
	t.Helper()
	ps := freePorts(t)
	addr := fmt.Sprintf("127.0.0.1:%d", ps.frontend)
	p := start(t, t.TempDir(), cleanEnv(), "dev", "--temporal-only", "--data-dir", dataDir,
		"--temporal-listen", addr, "--temporal-ui-listen", fmt.Sprintf("127.0.0.1:%d", ps.ui))
	p.waitStdout(t, "Temporal is ready", 90*time.Second)
	return p, addr
}

// waitStdout waits until the process has printed want.
func (p *proc) waitStdout(t testing.TB, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.stdout.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("rigger exited before printing %q: %v\nstderr:\n%s", want, p.err, tail(p.stderr.String(), 8192))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rigger did not print %q within %s; stderr:\n%s", want, within, tail(p.stderr.String(), 8192))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serverWorker is rigger server and rigger worker started against a
// Temporal frontend with one rigger.yaml, the way production runs them.
// testRunSigningKey is scaffolder.runSigningKey for tests that run rigger
// server and worker (base64 of a 32-byte Ed25519 seed): without one a
// server refuses to start tasks.
const testRunSigningKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

type serverWorker struct {
	server, worker *proc
	token          string
}

// benchToken is the service token (scope *) startServerWorker configures.
const benchToken = "sw-token-0123456789-abcdefghijklmnop"

// startServerWorker writes cfgYAML (which must not configure auth; a
// service token with every scope is added) and starts bin's server and its
// worker for the default queue against temporal; it waits for both.
func startServerWorker(t testing.TB, bin, temporal, cfgYAML string) serverWorker {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rigger.yaml")
	full := cfgYAML + "auth:\n  serviceTokens:\n    - name: sw\n      token: ${SW_TOKEN}\n      scopes: [\"*\"]\n"
	if err := os.WriteFile(cfg, []byte(full), 0o600); err != nil {
		t.Fatal(err)
	}
	env := cleanEnv("SW_TOKEN="+benchToken, "RIGGER_CONFIG="+cfg, "RIGGER_TEMPORAL_ADDRESS="+temporal)
	w := startBin(t, bin, dir, env, "worker", "--queue", "rigger-default")
	w.waitStdout(t, "Rigger worker is ready", 60*time.Second)
	api := freePorts(t).api
	s := startBin(t, bin, dir, env, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", api))
	s.api = fmt.Sprintf("http://127.0.0.1:%d", api)
	s.waitReady(t, 60*time.Second)
	return serverWorker{server: s, worker: w, token: benchToken}
}

func (p *proc) waitReady(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("rigger exited before ready: %v\nstderr:\n%s", p.err, tail(p.stderr.String(), 8192))
		default:
		}
		resp, err := http.Get(p.api + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("rigger not ready within %s", within)
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("rigger did not exit within %s", within)
	}
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	t.Fatalf("wait: %v", p.err)
	return -1
}

// doJSON sends a JSON request and decodes a JSON answer into out (may be nil).
func doJSON(t testing.TB, method, url string, body any, out any) int {
	t.Helper()
	return doJSONAs(t, "", method, url, body, out)
}

// doJSONAs is doJSON with a bearer token ("" sends none).
func doJSONAs(t testing.TB, token, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: status %d, body %q is not JSON: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}
