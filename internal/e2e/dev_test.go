package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

type helloResp struct {
	ID     string `json:"id"`
	RunID  string `json:"runId"`
	Status string `json:"status"`
	Error  string `json:"error"`
	Result *struct {
		Greeting  string `json:"greeting"`
		Delivered string `json:"delivered"`
	} `json:"result"`
	TemporalURL string `json:"temporalUrl"`
}

// TestDevSurvivesSIGKILL runs the hello workflow through the API, SIGKILLs the
// process while a second run's activity sleeps, restarts on the same data dir
// and checks the second run completes without re-running its first activity.
func TestDevSurvivesSIGKILL(t *testing.T) {
	needBinary(t)
	dataDir := t.TempDir()
	ps := freePorts(t)
	p1 := startDev(t, dataDir, ps)

	var first helloResp
	if code := doJSON(t, "POST", p1.api+"/api/dev/hello", map[string]any{"name": "first"}, &first); code != http.StatusOK {
		t.Fatalf("first hello: status %d: %+v", code, first)
	}
	if first.Status != "completed" || first.Result == nil || first.Result.Greeting != "Hello, first!" || first.Result.Delivered != "Hello, first! (delivered)" {
		t.Fatalf("first hello: unexpected answer %+v", first)
	}
	if !strings.Contains(first.TemporalURL, fmt.Sprintf("127.0.0.1:%d/namespaces/default/workflows/%s/", ps.ui, first.ID)) {
		t.Errorf("first hello: temporalUrl %q does not link to the run in the Temporal UI", first.TemporalURL)
	}

	var second helloResp
	if code := doJSON(t, "POST", p1.api+"/api/dev/hello", map[string]any{"name": "second", "delay": "6s", "wait": false}, &second); code != http.StatusAccepted {
		t.Fatalf("second hello: status %d: %+v", code, second)
	}
	composeOf := map[string]any{"msg": "activity executed", "activity": "rigger.hello.compose", "workflow_id": second.ID}
	deliverOf := map[string]any{"msg": "activity executed", "activity": "rigger.hello.deliver", "workflow_id": second.ID}
	// Kill only once the sleeping activity has started, i.e. compose is done.
	deadline := time.Now().Add(30 * time.Second)
	for countLogs(p1.stderr.String(), deliverOf) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the second run's deliver activity never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p1.wait(t, 10*time.Second); code != -int(syscall.SIGKILL) {
		t.Fatalf("first process: exit %d, want killed by SIGKILL", code)
	}

	p2 := startDev(t, dataDir, ps)
	var got helloResp
	deadline = time.Now().Add(60 * time.Second)
	for {
		if code := doJSON(t, "GET", p2.api+"/api/dev/hello/"+second.ID, nil, &got); code != http.StatusOK {
			t.Fatalf("get second hello after restart: status %d: %+v", code, got)
		}
		if got.Status != "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second run did not complete within 60s of the restart")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got.Status != "completed" || got.Result == nil || got.Result.Delivered != "Hello, second! (delivered)" {
		t.Fatalf("second run after restart: %+v", got)
	}
	logs := p1.stderr.String() + p2.stderr.String()
	if n := countLogs(logs, composeOf); n != 1 {
		t.Errorf("compose activity of the second run executed %d times across the crash, want exactly 1", n)
	}
	if n := countLogs(p2.stderr.String(), deliverOf); n < 1 {
		t.Errorf("deliver activity was not retried by the restarted process")
	}
	if n := countLogs(p2.stderr.String(), composeOf); n != 0 {
		t.Errorf("restarted process ran compose %d times, want 0", n)
	}

	// History from before the crash is still there.
	var again helloResp
	if code := doJSON(t, "GET", p2.api+"/api/dev/hello/"+first.ID, nil, &again); code != http.StatusOK || again.Status != "completed" || again.Result == nil || again.Result.Greeting != "Hello, first!" {
		t.Errorf("first run after restart: status %d, %+v", code, again)
	}

	t.Run("TemporalUI", func(t *testing.T) {
		ui := fmt.Sprintf("http://127.0.0.1:%d", ps.ui)
		resp, err := http.Get(ui + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(strings.ToLower(string(body)), "<html") {
			t.Fatalf("temporal ui /: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var ns struct {
			Namespaces []struct {
				NamespaceInfo struct {
					Name string `json:"name"`
				} `json:"namespaceInfo"`
			} `json:"namespaces"`
		}
		if code := doJSON(t, "GET", ui+"/api/v1/namespaces", nil, &ns); code != http.StatusOK {
			t.Fatalf("temporal ui /api/v1/namespaces: status %d", code)
		}
		var names []string
		for _, n := range ns.Namespaces {
			names = append(names, n.NamespaceInfo.Name)
		}
		if !strings.Contains(","+strings.Join(names, ",")+",", ",default,") {
			t.Fatalf("temporal ui lists namespaces %v, want default among them", names)
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		var e struct {
			Error struct{ Name, Message string } `json:"error"`
		}
		if code := doJSON(t, "POST", p2.api+"/api/dev/hello", map[string]any{"delay": "forever"}, &e); code != http.StatusBadRequest || e.Error.Name != "InputError" || !strings.Contains(e.Error.Message, "delay") {
			t.Errorf("bad delay: status %d, %+v", code, e)
		}
		if code := doJSON(t, "GET", p2.api+"/api/dev/hello/no-such-run", nil, &e); code != http.StatusNotFound || e.Error.Name != "NotFoundError" {
			t.Errorf("unknown run: status %d, %+v", code, e)
		}
	})

	t.Run("CleanShutdown", func(t *testing.T) {
		if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := p2.wait(t, 30*time.Second); code != 0 {
			t.Fatalf("exit code %d after SIGTERM, want 0", code)
		}
		for _, msg := range []string{"workers stopped", "temporal server stopped"} {
			if countLogs(p2.stderr.String(), map[string]any{"msg": msg}) != 1 {
				t.Errorf("shutdown did not log %q", msg)
			}
		}
		// The data dir opens again after a clean stop, with history intact.
		p3 := startDev(t, dataDir, ps)
		var r helloResp
		if code := doJSON(t, "GET", p3.api+"/api/dev/hello/"+second.ID, nil, &r); code != http.StatusOK || r.Status != "completed" {
			t.Fatalf("after clean restart: status %d, %+v", code, r)
		}
	})
}

// TestHealthEndpoints checks liveness, readiness (naming each check), the
// ready banner, the data-dir lock and the JSON 404.
func TestHealthEndpoints(t *testing.T) {
	needBinary(t)
	p := startDev(t, t.TempDir(), freePorts(t))
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if code := doJSON(t, "GET", p.api+"/readyz", nil, &ready); code != http.StatusOK {
		t.Fatalf("readyz: %d", code)
	}
	for _, name := range []string{"temporal", "workers"} {
		if ready.Checks[name] != "ok" {
			t.Errorf("readyz check %s = %q, want ok (all: %v)", name, ready.Checks[name], ready.Checks)
		}
	}
	var live map[string]string
	if code := doJSON(t, "GET", p.api+"/healthz", nil, &live); code != http.StatusOK || live["status"] != "ok" {
		t.Errorf("healthz: %d %v", code, live)
	}
	// The ready banner names the URLs.
	out := p.stdout.String()
	for _, want := range []string{p.api, "Temporal UI:"} {
		if !strings.Contains(out, want) {
			t.Errorf("ready banner %q does not contain %q", out, want)
		}
	}
	// A second process on the same data dir is refused, not corrupting it.
	other := freePorts(t)
	dup := start(t, t.TempDir(), cleanEnv(), "dev", "--data-dir", p.cmd.Args[3],
		"--listen", fmt.Sprintf("127.0.0.1:%d", other.api),
		"--temporal-listen", fmt.Sprintf("127.0.0.1:%d", other.frontend), "--temporal-ui-listen", "")
	if code := dup.wait(t, 30*time.Second); code == 0 || !strings.Contains(dup.stderr.String(), "in use by another rigger process") {
		t.Errorf("second rigger on the same data dir: exit %d, stderr %s", code, tail(dup.stderr.String(), 2000))
	}
	var notFound struct {
		Error struct{ Name string } `json:"error"`
	}
	if code := doJSON(t, "GET", p.api+"/api/nothing-here", nil, &notFound); code != http.StatusNotFound || notFound.Error.Name != "NotFoundError" {
		t.Errorf("unknown route: %d %+v", code, notFound)
	}
}
