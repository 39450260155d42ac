package api

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store"
)

// TestMCPAuditNamesTheToken: a tool call's audit event says how the
// caller was identified: via, the OAuth client and the token's id.
func TestMCPAuditNamesTheToken(t *testing.T) {
	f := newMCPFixture(t, nil, nil)
	callTool(t, f.session(t, "agent"), "catalog_get", map[string]any{"ref": "component:default/svc-a"})
	callTool(t, f.session(t, "reader"), "catalog_get", map[string]any{"ref": "component:default/svc-a"})
	want := map[string]map[string]string{
		"user:default/alice": {"via": "mcp-oauth", "client": "client-1", "tokenId": "jti-1"},
		"service:reader":     {"via": "service-token", "tokenId": "reader"},
	}
	seen := 0
	for _, e := range f.events.snapshot() {
		if e.Action != "mcp.tool.call" {
			continue
		}
		seen++
		for k, v := range want[e.Actor] {
			if e.Details[k] != v {
				t.Errorf("%s's tool call: details[%s] = %q, want %q (%v)", e.Actor, k, e.Details[k], v, e.Details)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d tool-call events, want 2", seen)
	}
}

// TestMCPAuditRedactsRegisterTarget: catalog_register's target keeps no
// credentials or query in the audit event (object, arguments, reason), as
// the REST route's event does.
func TestMCPAuditRedactsRegisterTarget(t *testing.T) {
	f := newMCPFixture(t, nil, func(c *config.MCP) { c.AllowWrite = true })
	s := f.session(t, "alice")
	const target = "https://bob:hunter22@git.example.invalid/cat/catalog-info.yaml?private_token=glpat-secret9"
	callTool(t, s, "catalog_register", map[string]any{"target": target})
	callTool(t, s, "catalog_register", map[string]any{"type": "nonsense", "target": target})
	seen := 0
	for _, e := range f.events.snapshot() {
		if strings.Contains(fmt.Sprint(e), "hunter22") || strings.Contains(fmt.Sprint(e), "glpat-secret9") {
			t.Errorf("an audit event holds the target's secrets: %+v", e)
		}
		if e.Action == "mcp.tool.call" && e.Details["tool"] == "catalog_register" {
			seen++
			if e.Details["object"] != "https://git.example.invalid/cat/catalog-info.yaml" {
				t.Errorf("object = %q", e.Details["object"])
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d catalog_register events, want 2", seen)
	}
}

// mcpPost posts one JSON-RPC message without a session id to url as
// user: the answer's status and body.
func mcpPost(t *testing.T, url, user, msg string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(msg))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("X-Test-User", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// initialize starts a session as user with a bare initialize.
func (f *mcpFixture) initialize(t *testing.T, user string) (int, string) {
	t.Helper()
	return mcpPost(t, f.url, user, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`)
}

// waitFor polls cond for up to 10s.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// TestMCPSessionsPerUser: one caller's sessions stop at
// mcp.maxSessionsPerUser (503 naming the key) while another caller still
// gets one; a session that ends or times out frees its place.
func TestMCPSessionsPerUser(t *testing.T) {
	f := newMCPFixture(t, nil, func(c *config.MCP) { c.MaxSessionsPerUser = 2 })
	a1 := f.session(t, "alice")
	f.session(t, "agent") // alice too, through an MCP access token
	if code, body := f.initialize(t, "alice"); code != http.StatusServiceUnavailable || !strings.Contains(body, "mcp.maxSessionsPerUser") {
		t.Errorf("alice's third session: %d %s, want 503 naming mcp.maxSessionsPerUser", code, body)
	}
	f.session(t, "carol")
	f.session(t, "reader")
	a1.Close()
	if !waitFor(func() bool { return f.srv.MCP().SessionsOf(mcpUsers["alice"]) < 2 }) {
		t.Fatal("alice's closed session still counts")
	}
	f.session(t, "alice")

	idle := newMCPFixture(t, nil, func(c *config.MCP) { c.MaxSessionsPerUser = 1; c.SessionTimeout = 50 * time.Millisecond })
	idle.session(t, "alice")
	if !waitFor(func() bool { return idle.srv.MCP().SessionsOf(mcpUsers["alice"]) == 0 }) {
		t.Fatal("alice's idle session still counts after mcp.sessionTimeout")
	}
	idle.session(t, "alice")
}

// TestMCPRateLimitPerUser: a refreshed token of the same grant, and a new
// grant of the same user, take from the user's bucket: no fresh burst.
func TestMCPRateLimitPerUser(t *testing.T) {
	f := newMCPFixture(t, nil, func(c *config.MCP) { c.RateLimit.Burst, c.RateLimit.Interval = 2, time.Hour })
	ping := func(user string) (int, string) {
		return mcpPost(t, f.url, user, `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	}
	for _, u := range []string{"agent", "agent-refreshed"} {
		if code, body := ping(u); code == http.StatusTooManyRequests {
			t.Fatalf("%s limited: %s", u, body)
		}
	}
	for _, u := range []string{"agent-refreshed", "agent-other", "alice"} {
		if code, body := ping(u); code != http.StatusTooManyRequests || !strings.Contains(body, "mcp.rateLimit") {
			t.Errorf("%s after alice's burst: %d %s, want 429", u, code, body)
		}
	}
	if code, body := ping("carol"); code == http.StatusTooManyRequests {
		t.Errorf("another user limited: %s", body)
	}
	// The grant is the sign-in the tokens were refreshed from.
	a, r, o := mcpRateKeys(mcpUsers["agent"]), mcpRateKeys(mcpUsers["agent-refreshed"]), mcpRateKeys(mcpUsers["agent-other"])
	if len(a) != 2 || !slices.Equal(a, r) || a[1] == o[1] || a[0] != o[0] {
		t.Errorf("rate keys: %q %q %q", a, r, o)
	}
	if k := mcpRateKeys(mcpUsers["reader"]); len(k) != 2 || !strings.Contains(k[1], "reader") {
		t.Errorf("a service token's rate keys: %q", k)
	}
}

// TestMCPRunNeedsTheTemplateDryRun: a template_run of a template changed
// since the dry run is refused, saying to dry-run again (a relation
// another entity adds to it is no change); a run that did
// not start (here: no signing key) leaves the receipt for the next try.
func TestMCPRunNeedsTheTemplateDryRun(t *testing.T) {
	for name, st := range emptyStores(t) {
		t.Run(name, func(t *testing.T) {
			f := newMCPFixtureOn(t, st, nil, func(c *config.MCP) { c.AllowWrite = true })
			alice := f.session(t, "alice")
			args := map[string]any{"ref": "template:default/hello", "values": map[string]any{"name": "world"}}
			if _, text, isErr := callTool(t, alice, "template_dry_run", args); isErr {
				t.Fatalf("dry run: %s", text)
			}
			for i := range 2 {
				if _, text, _ := callTool(t, alice, "template_run", args); !strings.Contains(text, "scaffolder.runSigningKey") {
					t.Fatalf("run %d without a signing key: %s, want the key's error (the receipt kept)", i, text)
				}
			}
			// The location's file is rewritten and read.
			rewrite := func(content string) {
				t.Helper()
				locs, err := st.ListLocations(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range locs {
					if l.Type != "file" {
						continue
					}
					if err := os.WriteFile(l.Target, []byte(content), 0o600); err != nil {
						t.Fatal(err)
					}
					cat := &activities.Catalog{Store: st, Rules: catalog.DefaultRules(), Limits: catalog.DefaultLimits(), Orphans: store.OrphanDelete, Logger: discardLogger(),
						Git: activities.GitSource{AllowLocal: true}}
					if _, err := cat.RefreshLocation(t.Context(), contract.CatalogRefreshInput{LocationID: l.ID}); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Another entity adds a relation to the template (review 34
			// L1): its served etag changes, its body does not, and the
			// receipt still serves.
			before, err := st.EntityByRef(t.Context(), "template:default/hello")
			if err != nil {
				t.Fatal(err)
			}
			rewrite(mcpCatalog(t) + `---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: leans-on-hello}
spec: {type: service, lifecycle: production, owner: team-a, dependsOn: [template:default/hello]}
`)
			after, err := st.EntityByRef(t.Context(), "template:default/hello")
			if err != nil {
				t.Fatal(err)
			}
			if after.ETag == before.ETag || after.Hash != before.Hash {
				t.Fatalf("the relation left the template's etag (%s, %s) or changed its body (%s, %s)", before.ETag, after.ETag, before.Hash, after.Hash)
			}
			if _, text, _ := callTool(t, alice, "template_run", args); !strings.Contains(text, "scaffolder.runSigningKey") {
				t.Fatalf("run after another entity's relation to the template: %s, want the key's error (the receipt kept)", text)
			}
			// The template's body changes.
			rewrite(strings.Replace(mcpCatalog(t), "Writes a greeting", "Writes a louder greeting", 1))
			if _, text, isErr := callTool(t, alice, "template_run", args); !isErr || !strings.Contains(text, "changed since your template_dry_run") {
				t.Errorf("run of a changed template: %t %s", isErr, text)
			}
			// The refused run used the receipt up.
			if _, text, _ := callTool(t, alice, "template_run", args); !strings.Contains(text, "call template_dry_run first") {
				t.Errorf("a second run on the stale receipt: %s", text)
			}
			if _, text, isErr := callTool(t, alice, "template_dry_run", args); isErr {
				t.Fatalf("dry run again: %s", text)
			}
			if _, text, _ := callTool(t, alice, "template_run", args); !strings.Contains(text, "scaffolder.runSigningKey") {
				t.Errorf("run after a new dry run: %s", text)
			}
		})
	}
}

// TestMCPSecretsChannel: a secret parameter in values is refused, naming
// secrets; secrets go beside values, their names (not their values) bind
// the dry run to the run, and no audit event holds them.
func TestMCPSecretsChannel(t *testing.T) {
	f := newMCPFixture(t, nil, func(c *config.MCP) { c.AllowWrite = true })
	alice := f.session(t, "alice")
	ref := "template:default/hello"
	for _, tool := range []string{"template_dry_run", "template_run"} {
		_, text, isErr := callTool(t, alice, tool, map[string]any{"ref": ref, "values": map[string]any{"name": "world", "apiKey": "sk-in-values-1"}})
		if !isErr || !strings.Contains(text, "values.apiKey is a secret parameter") || !strings.Contains(text, "pass it in secrets") {
			t.Errorf("%s with a secret in values: %t %s", tool, isErr, text)
		}
	}
	values := map[string]any{"name": "world"}
	if _, text, isErr := callTool(t, alice, "template_dry_run", map[string]any{"ref": ref, "values": values, "secrets": map[string]any{"apiKey": "sk-dry-2"}}); isErr {
		t.Fatalf("dry run with secrets: %s", text)
	}
	if _, text, _ := callTool(t, alice, "template_run", map[string]any{"ref": ref, "values": values}); !strings.Contains(text, "call template_dry_run first") {
		t.Errorf("a run without the dry run's secrets: %s", text)
	}
	// The same names with another value: the dry run counts (the key's
	// error is past the receipt).
	if _, text, _ := callTool(t, alice, "template_run", map[string]any{"ref": ref, "values": values, "secrets": map[string]any{"apiKey": "sk-run-3"}}); !strings.Contains(text, "scaffolder.runSigningKey") {
		t.Errorf("a run with the dry run's secret names: %s", text)
	}
	for _, e := range f.events.snapshot() {
		for _, s := range []string{"sk-in-values-1", "sk-dry-2", "sk-run-3"} {
			if strings.Contains(fmt.Sprint(e), s) {
				t.Errorf("an audit event holds %s: %+v", s, e)
			}
		}
	}
}

// TestMCPSessionsPerUserAtOnce: of many sessions one caller opens at
// once, no more than mcp.maxSessionsPerUser are opened.
func TestMCPSessionsPerUserAtOnce(t *testing.T) {
	const limit, n = 3, 12
	f := newMCPFixture(t, nil, func(c *config.MCP) { c.MaxSessionsPerUser = limit; c.RateLimit.Burst = 1000 })
	opened := initializeAtOnce(t, f, "alice", n)
	if got := f.srv.MCP().SessionsOf(mcpUsers["alice"]); opened != limit || got != limit {
		t.Errorf("%d of %d initializes at once answered 200 and %d sessions are held, want %d", opened, n, got, limit)
	}
}

// TestMCPSessionsAtOnce: of many sessions opened at once, no more than
// mcp.maxSessions are opened (the check and the reservation are one step).
func TestMCPSessionsAtOnce(t *testing.T) {
	const limit, n = 3, 16
	f := newMCPFixture(t, nil, func(c *config.MCP) { c.MaxSessions, c.MaxSessionsPerUser = limit, n; c.RateLimit.Burst = 1000 })
	opened := initializeAtOnce(t, f, "alice", n)
	if got := f.srv.MCP().Sessions(); opened != limit || got != limit {
		t.Errorf("%d of %d initializes at once answered 200 and %d sessions are held, want %d", opened, n, got, limit)
	}
}

// initializeAtOnce sends n initializes as user at once and counts those
// answered 200.
func initializeAtOnce(t *testing.T, f *mcpFixture, user string, n int) int {
	t.Helper()
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() {
			code, _ := f.initialize(t, user)
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	opened := 0
	for code := range codes {
		if code == http.StatusOK {
			opened++
		}
	}
	return opened
}
