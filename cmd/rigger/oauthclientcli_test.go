package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// TestOAuthClientCommands: rigger token oauth-client list shows the
// configured and registered clients to an admin, delete removes a
// registered one, and a non-admin is refused.
func TestOAuthClientCommands(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var oa store.OAuthStore = st
	if err := oa.CreateOAuthClient(ctx, store.OAuthClient{ID: "mcp_abc", Name: "Laptop agent", RedirectURIs: []string{"http://127.0.0.1/cb"},
		Created: time.Now(), From: "192.0.2.7", Net: "192.0.2.7"}, store.OAuthClientLimits{Max: 10}); err != nil {
		t.Fatal(err)
	}
	iss, err := auth.NewIssuer(ctx, auth.IssuerOptions{Store: st, DataKey: testSecretKey, URL: testBaseURL})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(api.Deps{Logger: newLogger(os.Stderr, "error", "text"), Auth: auth.Chain{Issuer: iss},
		Tokens:   api.TokenDeps{Issuer: iss, Admins: []string{"group:default/platform"}},
		MCPOAuth: api.MCPOAuthDeps{Store: oa, Clients: []store.OAuthClient{{ID: "desktop", Name: "Desktop agent", RedirectURIs: []string{"http://127.0.0.1/d"}}}}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	issue := func(id auth.Identity) string {
		tok, _, err := iss.Issue(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin := map[string]string{"RIGGER_SERVER": hs.URL, "RIGGER_TOKEN": issue(auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/platform"}})}
	bob := map[string]string{"RIGGER_SERVER": hs.URL, "RIGGER_TOKEN": issue(auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob"}})}

	if out, _, err := runCLI(t, bob, "token", "oauth-client", "list"); err == nil || !strings.Contains(err.Error(), "admin") {
		t.Fatalf("a non-admin listed OAuth clients: %q %v", out, err)
	}
	out, errOut, err := runCLI(t, admin, "token", "oauth-client", "list")
	if err != nil {
		t.Fatalf("list: %v %s", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "desktop") || !strings.Contains(lines[1], "configured") ||
		!strings.Contains(lines[2], "mcp_abc") || !strings.Contains(lines[2], "Laptop agent") || !strings.Contains(lines[2], "192.0.2.7") || !strings.Contains(lines[2], "never") {
		t.Fatalf("list:\n%s", out)
	}
	if _, _, err := runCLI(t, admin, "token", "oauth-client", "delete", "desktop"); err == nil || !strings.Contains(err.Error(), "mcp.clients") {
		t.Fatalf("deleting a configured client: %v", err)
	}
	out, _, err = runCLI(t, admin, "token", "oauth-client", "delete", "mcp_abc")
	if err != nil || !strings.Contains(out, "deleted OAuth client mcp_abc (Laptop agent); revoked 0 grants") {
		t.Fatalf("delete: %q %v", out, err)
	}
	if _, err := oa.OAuthClientByID(ctx, "mcp_abc"); err == nil {
		t.Fatal("the client is still stored")
	}
	if _, _, err := runCLI(t, admin, "token", "oauth-client", "delete", "mcp_abc"); err == nil || !strings.Contains(err.Error(), "no OAuth client") {
		t.Fatalf("deleting twice: %v", err)
	}
}
