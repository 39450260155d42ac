package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestAuditAlertsEndToEnd: rigger dev with audit.alerts.catalogMutations
// on: the guest (not in group:default/platform-team) registering a
// location raises an audit.alert event, listed by GET /api/audit/events
// and POSTed — with the header whose value comes from the environment —
// to a webhook receiver on 127.0.0.1 that audit.alerts.webhookNetworks
// allows; after a clean stop `rigger audit verify` accepts the chain with
// the alert in it.
func TestAuditAlertsEndToEnd(t *testing.T) {
	needBinary(t)
	var mu sync.Mutex
	var posts []string
	var auth []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts, auth = append(posts, string(b)), append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
	}))
	defer hook.Close()

	dir := t.TempDir()
	comp := filepath.Join(dir, "catalog-info.yaml")
	if err := os.WriteFile(comp, []byte("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: watched}\nspec: {type: service, owner: team-a, lifecycle: production}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgYAML := fmt.Sprintf(`audit:
  sink: file
  path: %s
  alerts:
    catalogMutations:
      enabled: true
      allowed: [group:default/platform-team]
      webhook:
        url: %s/hook
        headers:
          - {name: Authorization, value: "Bearer ${ALERT_TOKEN}"}
    webhookHosts: [127.0.0.1]
    webhookNetworks: [127.0.0.1/32]
`, filepath.Join(dir, "audit.jsonl"), hook.URL)
	cfg := filepath.Join(dir, "rigger.yaml")
	if err := os.WriteFile(cfg, []byte(cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ps := freePorts(t)
	p := start(t, dir, cleanEnv("ALERT_TOKEN=alert-token-from-env"), "dev", "--config", cfg, "--data-dir", data,
		"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
	p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
	p.waitReady(t, 90*time.Second)

	if code := doJSON(t, "POST", p.api+"/api/catalog/locations", map[string]any{"type": "file", "target": comp}, nil); code != http.StatusCreated {
		t.Fatalf("register a location as the guest: %d", code)
	}
	type item struct {
		Seq   int64
		Event struct {
			ActorKind, Action, Target string
			Details                   map[string]string
		}
	}
	var page struct{ Items []item }
	deadline := time.Now().Add(30 * time.Second)
	for len(page.Items) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no audit.alert event within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
		if code := doJSON(t, "GET", p.api+"/api/audit/events?action=audit.alert", nil, &page); code != http.StatusOK {
			t.Fatalf("list alerts: %d", code)
		}
	}
	a := page.Items[0]
	if len(page.Items) != 1 || a.Event.Target != "catalogMutations" || a.Event.ActorKind != "system" ||
		a.Event.Details["actor"] != "user:default/guest" || a.Event.Details["action"] != "catalog.location.create" {
		t.Fatalf("alerts: %+v", page.Items)
	}
	for {
		mu.Lock()
		n := len(posts)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook got nothing within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	var got struct {
		Kind string
		Seq  int64
	}
	err := json.Unmarshal([]byte(posts[0]), &got)
	if err != nil || got.Kind != "audit.alert" || got.Seq != a.Seq || auth[0] != "Bearer alert-token-from-env" {
		t.Fatalf("webhook got %s (Authorization %q), want the alert of seq %d with the configured header", posts[0], auth[0], a.Seq)
	}
	mu.Unlock()

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("rigger dev exit %d", code)
	}
	v := start(t, dir, cleanEnv("ALERT_TOKEN=x"), "audit", "verify", "--config", cfg, "--data-dir", data)
	if code := v.wait(t, 60*time.Second); code != 0 || !strings.Contains(v.stdout.String(), "audit chain verified") {
		t.Fatalf("verify with the alert in the chain: exit %d\n%s%s", code, v.stdout.String(), v.stderr.String())
	}
	if strings.Contains(p.stdout.String()+p.stderr.String(), "alert-token-from-env") {
		t.Fatal("rigger dev's output shows the webhook header's secret")
	}
}
