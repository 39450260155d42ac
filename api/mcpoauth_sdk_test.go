package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	mcpauth "github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/riggerdev/rigger/internal/auth/oidctest"
)

// TestMCPOAuthGoSDKClient: the official Go MCP SDK's client-side OAuth
// (auth.AuthorizationCodeHandler) runs the whole flow from a 401 of
// /api/mcp: protected-resource and authorization-server metadata,
// dynamic registration, PKCE with resource indicators and the RFC 9207
// issuer check; the person signs in and consents in the browser.
func TestMCPOAuthGoSDKClient(t *testing.T) {
	f := newOAuthFixture(t, nil)
	b := newBrowser(t, f.base)
	h, err := mcpauth.NewAuthorizationCodeHandler(&mcpauth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &mcpauth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Go SDK agent", RedirectURIs: []string{mcpCallback}, TokenEndpointAuthMethod: "none",
			GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}}},
		AuthorizationCodeFetcher: func(_ context.Context, args *mcpauth.AuthorizationArgs) (*mcpauth.AuthorizationResult, error) {
			back := f.authorize(t, b, args.URL, oidctest.Alice, "allow")
			q := back.Query()
			return &mcpauth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", f.base+"/api/mcp", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/api/mcp without a token: %d", resp.StatusCode)
	}
	if err := h.Authorize(t.Context(), req, resp); err != nil {
		t.Fatalf("the SDK's authorization: %v", err)
	}
	ts, err := h.TokenSource(t.Context())
	if err != nil || ts == nil {
		t.Fatalf("token source: %v", err)
	}
	tok, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	status, body, who := f.call(t, "/api/mcp", tok.AccessToken)
	if status != http.StatusOK || who["ref"] != "user:default/alice" || who["via"] != "mcp-oauth" {
		t.Fatalf("/api/mcp with the SDK's token: %d %s", status, body)
	}
}
