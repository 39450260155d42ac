package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// effectiveConfig is what GET /api/config/effective answers.
type effectiveConfig struct {
	Generation  int64
	SHA256      string
	Trigger     string
	Live        []string
	Warnings    []string
	LastRefusal *struct {
		SHA256 string
		Errors []string
	}
	Config map[string]any
}

// Live configuration: a running rigger dev notices an edit of rigger.yaml
// (written the way a ConfigMap update lands: a new file renamed over the
// old) and applies it — a newly disabled action refuses its template and
// the effective config shows the new generation, secrets redacted —;
// refuses a broken file and a restart-only change, keeping what runs;
// and reloads on SIGHUP. Only an admin may read the effective config.
func TestLiveConfigReload(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "skeleton"), 0o755)
	os.WriteFile(filepath.Join(dir, "skeleton", "README.md"), []byte("${{ values.name }}\n"), 0o644)
	const adminToken = "live-admin-token-0123456789-abcdefghij"
	const readerToken = "live-reader-token-0123456789-abcdefghij"
	auth := "auth:\n  serviceTokens:\n    - {name: admin, token: " + adminToken + ", scopes: [\"*\"]}\n    - {name: reader, token: " + readerToken + ", scopes: [catalog.read, scaffolder.run]}\n"
	cfg := templateConfig(t, dir, testTemplate, auth)
	original, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(text string) string { return replaceFile(t, cfg, text) }
	p := startDevOn(t, dir, cfg, freePorts(t))
	waitTotal(t, p.api, "kind=template", 1)

	effective := func() (effectiveConfig, string) {
		t.Helper()
		e, body := getEffective(t, p.api, adminToken)
		if strings.Contains(body, readerToken) {
			t.Fatalf("a service token in the effective config: %s", body)
		}
		return e, body
	}
	waitEffective := func(what string, ok func(effectiveConfig) bool) effectiveConfig {
		t.Helper()
		return waitEffectiveOf(t, p.api, adminToken, what, ok)
	}
	createTask := func() (int, string) {
		t.Helper()
		var e struct{ Error struct{ Message string } }
		code := doJSONAs(t, adminToken, "POST", p.api+"/api/scaffolder/v2/tasks",
			map[string]any{"templateRef": "template:default/hello-files", "values": map[string]any{"name": "live"}}, &e)
		return code, e.Error.Message
	}

	e, body := effective()
	if e.Generation != 1 || e.SHA256 != hashOf(original) || !slices.Contains(e.Live, "scaffolder.disabledActions") || !strings.Contains(body, "[redacted]") {
		t.Fatalf("at start: %s", body)
	}
	if code := doJSONAs(t, readerToken, "GET", p.api+"/api/config/effective", nil, nil); code != http.StatusForbidden {
		t.Fatalf("a token without the admin scope read the effective config: %d", code)
	}

	// Disable fs:write, which the stored template uses.
	disabled := strings.Replace(string(original), "scaffolder:\n", "scaffolder:\n  disabledActions: [fs:write]\n", 1)
	sum := replace(disabled)
	e = waitEffective("the reload disabling fs:write", func(e effectiveConfig) bool { return e.Generation == 2 })
	if e.SHA256 != sum || e.Trigger != "file" || !strings.Contains(strings.Join(e.Warnings, "\n"), "fs:write is used by template:default/hello-files") {
		t.Fatalf("generation 2: %+v", e)
	}
	if code, msg := createTask(); code != http.StatusBadRequest || !strings.Contains(msg, "fs:write") {
		t.Fatalf("a task of a template using the disabled fs:write: %d %q", code, msg)
	}
	var inv struct{ Actions []struct{ ID, Status string } }
	doJSONAs(t, adminToken, "GET", p.api+"/api/scaffolder/v2/inventory", nil, &inv)
	if i := slices.IndexFunc(inv.Actions, func(a struct{ ID, Status string }) bool { return a.ID == "fs:write" }); i < 0 || inv.Actions[i].Status != "disabled" {
		t.Fatalf("inventory after the reload: %+v", inv)
	}

	// A broken file is refused with its errors; generation 2 runs on.
	broken := replace(disabled + "scaffolder:\n  disabledActions: []\n")
	e = waitEffective("the refusal of a broken file", func(e effectiveConfig) bool { return e.LastRefusal != nil })
	if e.Generation != 2 || e.LastRefusal.SHA256 != broken || !strings.Contains(strings.Join(e.LastRefusal.Errors, "\n"), "scaffolder") {
		t.Fatalf("after a broken file: %+v", e)
	}
	if code, _ := createTask(); code != http.StatusBadRequest {
		t.Fatalf("after a refused reload fs:write is on again: %d", code)
	}

	// A setting that needs a restart is refused by name.
	restart := replace(disabled + "database: {maxOpenConns: 3}\n")
	e = waitEffective("the refusal of a restart-only change", func(e effectiveConfig) bool { return e.LastRefusal != nil && e.LastRefusal.SHA256 == restart })
	if e.Generation != 2 || !slices.Contains(e.LastRefusal.Errors, "database.maxOpenConns cannot change without a restart") {
		t.Fatalf("after a restart-only change: %+v", e)
	}

	// Back to the original: fs:write is on again.
	replace(string(original))
	waitEffective("the reload enabling fs:write", func(e effectiveConfig) bool { return e.Generation == 3 })
	if code, msg := createTask(); code != http.StatusCreated {
		t.Fatalf("a task after enabling fs:write again: %d %q", code, msg)
	}

	// SIGHUP reloads the same file: a new generation, said to come from
	// the signal.
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	e = waitEffective("the reload on SIGHUP", func(e effectiveConfig) bool { return e.Generation == 4 })
	if e.Trigger != "signal" || e.SHA256 != hashOf(original) {
		t.Fatalf("after SIGHUP: %+v", e)
	}

	// Each reload is an audit event, refusals with their reasons.
	// (The audit log stores in batches: poll.)
	type reloadEvents struct {
		Items []struct {
			Event struct {
				Action, Decision, Reason string
				Details                  map[string]string
			}
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var events reloadEvents
		if code := doJSONAs(t, adminToken, "GET", p.api+"/api/audit/events?action=config.reload&limit=50", nil, &events); code != http.StatusOK {
			t.Fatalf("audit events: %d", code)
		}
		allowed, denied, disables := 0, 0, 0
		for _, it := range events.Items {
			if strings.Contains(it.Event.Details["changed"], "scaffolder.disabledActions") {
				disables++ // the reload that disabled fs:write, and the one that restored it
			}
			switch {
			case it.Event.Decision == "allow" && it.Event.Details["sha256"] != "":
				allowed++
			case it.Event.Decision == "deny" && strings.Contains(it.Event.Reason, "cannot change without a restart"):
				denied++
			}
		}
		if allowed == 3 && denied == 1 && disables == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("config.reload audit events: %d accepted (want 3), %d restart-only refusals (want 1), %d naming scaffolder.disabledActions as changed (want 2): %+v",
				allowed, denied, disables, events.Items)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The CLI says the same, and keeps the secrets out too.
	cli := start(t, dir, cleanEnv("RIGGER_SERVER="+p.api, "RIGGER_TOKEN="+adminToken), "config", "effective")
	out := cli.stdout.String
	if code := cli.wait(t, 60*time.Second); code != 0 || !strings.Contains(out(), "# generation 4, loaded ") || !strings.Contains(out(), "(signal)") ||
		!strings.Contains(out(), "# sha256: "+hashOf(original)) || !strings.Contains(out(), "database.maxOpenConns cannot change without a restart") || strings.Contains(out(), adminToken) {
		t.Fatalf("rigger config effective: exit %d\n%s\n%s", code, out(), cli.stderr.String())
	}
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// replaceFile writes text to path atomically (a new file renamed over it,
// as a ConfigMap update lands), so a poll never reads half a file, and
// returns its SHA-256.
func replaceFile(t *testing.T, path, text string) string {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return hashOf([]byte(text))
}

// getEffective asks api for its effective configuration as token; the
// body must not hold the token.
func getEffective(t *testing.T, api, token string) (effectiveConfig, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", api+"/api/config/effective", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/config/effective: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(string(body), token) {
		t.Fatalf("the caller's token in the effective config: %s", body)
	}
	var e effectiveConfig
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e, string(body)
}

// waitEffectiveOf polls api's effective configuration until ok.
func waitEffectiveOf(t *testing.T, api, token, what string, ok func(effectiveConfig) bool) effectiveConfig {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, body := getEffective(t, api, token)
		if ok(e) {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not seen within 20s; last: %s", what, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLiveConfigReloadServerWorker: rigger server and rigger worker
// reading one rigger.yaml (as the Helm chart's pods read one ConfigMap)
// both apply a change of live settings, and both refuse a restart-only
// change, naming it, and keep running.
func TestLiveConfigReloadServerWorker(t *testing.T) {
	needBinary(t)
	_, addr := startTemporalOnly(t, t.TempDir())
	dir := t.TempDir()
	sw := startServerWorker(t, riggerBin, addr, fmt.Sprintf("server:\n  dataDir: %s\nscaffolder:\n  runSigningKey: %s\n", filepath.Join(dir, "data"), testRunSigningKey))
	cfg := filepath.Join(sw.server.cmd.Dir, "rigger.yaml")
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	live := strings.Replace(string(data), "scaffolder:\n", "scaffolder:\n  allowedHosts: [skeletons.example.com]\n  disabledActions: [fs:delete]\n", 1)
	sum := replaceFile(t, cfg, live)
	e := waitEffectiveOf(t, sw.server.api, sw.token, "the server's reload", func(e effectiveConfig) bool { return e.Generation == 2 })
	if e.SHA256 != sum || e.LastRefusal != nil {
		t.Fatalf("server after the change: %+v", e)
	}
	workerSaw := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(sw.worker.stderr.String()+sw.worker.stdout.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("worker: no %s within 20s; stderr:\n%s", what, tail(sw.worker.stderr.String(), 4000))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	workerSaw("reload", `"generation":2`)
	if strings.Contains(sw.worker.stdout.String(), "configuration reload refused") {
		t.Fatalf("the worker refused a live change:\n%s", sw.worker.stdout.String())
	}

	restart := replaceFile(t, cfg, live+"database:\n  maxOpenConns: 3\n")
	e = waitEffectiveOf(t, sw.server.api, sw.token, "the server's refusal", func(e effectiveConfig) bool { return e.LastRefusal != nil })
	if e.Generation != 2 || e.LastRefusal.SHA256 != restart || !slices.Contains(e.LastRefusal.Errors, "database.maxOpenConns cannot change without a restart") {
		t.Fatalf("server after a restart-only change: %+v", e)
	}
	workerSaw("refusal", "database.maxOpenConns cannot change without a restart")
	for _, p := range []*proc{sw.server, sw.worker} {
		select {
		case <-p.done:
			t.Fatalf("a process exited after a refused reload: %v", p.err)
		default:
		}
	}
}
