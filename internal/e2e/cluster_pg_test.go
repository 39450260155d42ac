package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/riggerdev/rigger/internal/pgtest"
)

// stoppedPostgres is a pgtest server stopped behind its back: start runs
// postgres again on the same data directory and port, as the same user.
type stoppedPostgres struct {
	args []string
	cred *syscall.Credential
}

// stopPostgres shuts pg down (fast shutdown, like an operator's
// pg_ctl stop -m fast) and returns how to start it again.
func stopPostgres(t *testing.T, pg *pgtest.Server) *stoppedPostgres {
	t.Helper()
	pid, args := postmaster(t, pg.Addr())
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	sp := &stoppedPostgres{args: args}
	for _, line := range strings.Split(string(st), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			uid, _ := strconv.Atoi(f[1])
			if uid != os.Geteuid() {
				sp.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}
			}
		}
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Gid:" && sp.cred != nil {
			gid, _ := strconv.Atoi(f[1])
			sp.cred.Gid = uint32(gid)
		}
	}
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("postgres did not stop within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return sp
}

// start starts the stopped server again; it is stopped when t ends.
func (sp *stoppedPostgres) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(sp.args[0], sp.args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: sp.cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	data := ""
	for i, a := range sp.args {
		if a == "-D" && i+1 < len(sp.args) {
			data = sp.args[i+1]
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, _ := os.ReadFile(filepath.Join(data, "postmaster.pid"))
		if lines := strings.Split(string(raw), "\n"); len(lines) >= 8 && strings.TrimSpace(lines[7]) == "ready" && strings.TrimSpace(lines[0]) == strconv.Itoa(cmd.Process.Pid) {
			return
		}
		select {
		case <-done:
			t.Fatalf("postgres exited on restart:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres not ready 30s after restart:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// postmaster finds the postgres listening on addr (its command line
// says -p <port>) and returns its pid and command line.
func postmaster(t testing.TB, addr string) (int, []string) {
	t.Helper()
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		raw, err := os.ReadFile(p)
		if err != nil || len(raw) == 0 {
			continue
		}
		args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if filepath.Base(args[0]) != "postgres" {
			continue
		}
		for i, a := range args {
			if a == "-p" && i+1 < len(args) && args[i+1] == port {
				pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
				return pid, args
			}
		}
	}
	t.Fatalf("no postgres process listens on %s", addr)
	return 0, nil
}

// clusterPostgresOutage stops rigger's PostgreSQL for 10 s while clients
// read the catalog and create tasks: both servers' /readyz turn red,
// requests fail fast with 503 and a message naming the cause, nothing
// else fails, and everything recovers by itself once the database is
// back; every create (retried with its Idempotency-Key) becomes one task
// that completes.
func clusterPostgresOutage(t *testing.T, c *cluster) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	type answer struct {
		at      time.Time
		took    time.Duration
		code    int
		what    string
		message string
		err     error
	}
	var mu sync.Mutex
	var answers []answer
	record := func(a answer) {
		mu.Lock()
		answers = append(answers, a)
		mu.Unlock()
	}
	type keyed struct{ key, n string }
	var creates []keyed
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			api := c.servers[i%len(c.servers)].api
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
				start := time.Now()
				var e apiError
				code, err := getJSON(rctx, c.token, api+"/api/catalog/entities/by-query?filter=kind=template&limit=5", &e)
				record(answer{at: start, took: time.Since(start), code: code, what: "catalog read", message: e.Error.Message, err: err})
				k := keyed{key: uuid.NewString(), n: fmt.Sprintf("pg-%d-%d", i, n)}
				start = time.Now()
				code, _, msg, err := createKeyed(rctx, c.token, api, k.key, map[string]any{"templateRef": "template:default/quick", "values": map[string]any{"n": k.n}})
				record(answer{at: start, took: time.Since(start), code: code, what: "create", message: msg, err: err})
				rcancel()
				mu.Lock()
				creates = append(creates, k)
				mu.Unlock()
				time.Sleep(300 * time.Millisecond)
			}
		}()
	}
	time.Sleep(2 * time.Second)
	down := time.Now()
	sp := stopPostgres(t, c.store)
	// Readiness turns red on every server while the database is away.
	red := map[int]string{}
	for time.Since(down) < 10*time.Second {
		for i, s := range c.servers {
			var body struct {
				Checks map[string]string `json:"checks"`
			}
			if code := doJSON(t, "GET", s.api+"/readyz", nil, &body); code == http.StatusServiceUnavailable {
				red[i] = body.Checks["store"]
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	sp.start(c.owner)
	up := time.Now()
	t.Logf("rigger's PostgreSQL was down for %s", up.Sub(down).Round(time.Millisecond))
	for i := range c.servers {
		if _, ok := red[i]; !ok {
			t.Errorf("server %d's /readyz never turned red while PostgreSQL was down", i)
		} else {
			t.Logf("server %d /readyz store check while down: %q", i, red[i])
		}
	}
	// Everything recovers by itself.
	for _, s := range c.servers {
		s.waitReady(t, 60*time.Second)
	}
	recovered := time.Since(up)
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("both servers ready %s after PostgreSQL came back", recovered.Round(time.Millisecond))
	failed := map[string]int{}
	for _, a := range answers {
		during := a.at.After(down) && a.at.Before(up)
		switch {
		case a.err != nil:
			t.Errorf("%s at +%s: %v", a.what, a.at.Sub(down).Round(time.Millisecond), a.err)
		case a.code == http.StatusServiceUnavailable && during:
			failed[a.what]++
			if a.took > 5*time.Second {
				t.Errorf("%s took %s to fail: not fast", a.what, a.took.Round(time.Millisecond))
			}
			if a.message == "" {
				t.Errorf("%s: 503 without a message", a.what)
			}
		case a.code >= 300 && a.at.After(up.Add(recovered)):
			t.Errorf("%s after recovery: %d %q", a.what, a.code, a.message)
		case a.code >= 300 && a.code != http.StatusServiceUnavailable:
			t.Errorf("%s at +%s: %d %q, want success or 503", a.what, a.at.Sub(down).Round(time.Millisecond), a.code, a.message)
		}
	}
	t.Logf("%d requests, 503 while down: %v", len(answers), failed)
	if failed["catalog read"] == 0 {
		t.Error("no catalog read failed while PostgreSQL was down: the outage was not seen")
	}
	// Each create, retried with its key now, is exactly one task that completes.
	for _, k := range creates {
		code, id, msg, err := createKeyed(ctx, c.token, c.servers[0].api, k.key, map[string]any{"templateRef": "template:default/quick", "values": map[string]any{"n": k.n}})
		if err != nil || (code != http.StatusOK && code != http.StatusCreated) {
			t.Fatalf("create %s after recovery: %d %q %v", k.n, code, msg, err)
		}
		if tr := waitTaskAsWithin(t, c.token, c.servers[0].api, id, 2*time.Minute); tr.Status != "completed" {
			t.Errorf("task %s (%s): %+v", id, k.n, tr)
		}
	}
}

// getJSON GETs url with a bearer token and decodes a JSON answer.
func getJSON(ctx context.Context, token, url string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	_ = json.Unmarshal(raw, out)
	return resp.StatusCode, nil
}
