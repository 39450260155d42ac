package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	mcpauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth/oidctest"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/internal/store"
)

// TestMCPOAuthRealEndpoint: the Go SDK's MCP client connects to the real
// /api/mcp with its OAuth handler: the 401, discovery, registration, the
// person's sign-in and consent, then tools as alice, read-only.
func TestMCPOAuthRealEndpoint(t *testing.T) {
	f := newOAuthFixture(t, func(d *Deps) {
		pol, err := permission.Default()
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.DefaultMCP()
		cfg.AllowWrite, d.MCPOAuth.AllowWrite = true, true
		d.Catalog = CatalogDeps{Store: d.MCPOAuth.Store.(store.Store)}
		d.Policy = pol
		d.Scaffolder = ScaffolderDeps{Actions: contract.NewRegistry(nil)}
		d.MCP = MCPDeps{Config: &cfg, Version: "test"}
	})
	b := newBrowser(t, f.base)
	h, err := mcpauth.NewAuthorizationCodeHandler(&mcpauth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &mcpauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Go SDK agent", RedirectURIs: []string{mcpCallback}, TokenEndpointAuthMethod: "none"}},
		ScopeFilter: func([]string) []string { return []string{"mcp:read"} },
		AuthorizationCodeFetcher: func(_ context.Context, args *mcpauth.AuthorizationArgs) (*mcpauth.AuthorizationResult, error) {
			q := f.authorize(t, b, args.URL, oidctest.Alice, "allow").Query()
			return &mcpauth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "oauth-test", Version: "1"}, nil)
	s, err := c.Connect(t.Context(), &mcp.StreamableClientTransport{Endpoint: f.base + "/api/mcp", OAuthHandler: h, MaxRetries: -1, HTTPClient: http.DefaultClient}, nil)
	if err != nil {
		t.Fatalf("connect with OAuth: %v", err)
	}
	defer s.Close()
	tools, err := s.ListTools(t.Context(), nil)
	if err != nil || len(tools.Tools) == 0 {
		t.Fatalf("tools: %v %v", tools, err)
	}
	out, text, isErr := callTool(t, s, "catalog_query", map[string]any{"filter": []string{"kind=user"}})
	if isErr {
		t.Fatalf("catalog_query: %s", text)
	}
	if _, text, isErr := callTool(t, s, "catalog_register", map[string]any{"target": "https://example.com/catalog-info.yaml"}); !isErr || !strings.Contains(text, "granted mcp:read only") {
		t.Fatalf("a write tool with a read-only grant: %v %s", isErr, text)
	}
	t.Logf("catalog_query as alice via OAuth: %d tools listed; %v", len(tools.Tools), out["totalItems"])
}
