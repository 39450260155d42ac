package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
)

// publicRoutes answer without a credential: probes, the token keys and
// discovery documents, and the sign-in flow itself. Every other route —
// including one added later — must refuse an anonymous caller.
var publicRoutes = map[string]bool{
	"GET /healthz":                        true,
	"GET /readyz":                         true,
	"GET /api/auth/.well-known/jwks.json": true,
	"GET /api/auth/.well-known/openid-configuration": true,
	"GET /.well-known/openid-configuration":          true,
	"GET /api/auth/providers":                        true,
	"GET /api/auth/:provider/start":                  true,
	"GET /api/auth/:provider/handler/frame":          true,
	"POST /api/auth/refresh":                         true,
	"POST /api/auth/logout":                          true,
	"POST /api/auth/cli/token":                       true, // the grant and its verifier
	// MCP clients' OAuth 2.1: discovery, and endpoints that authenticate
	// by their own means (a code and PKCE verifier, a refresh token, the
	// consent form's CSRF token and the session cookie), mcpoauth_test.go.
	"GET /.well-known/oauth-protected-resource":         true,
	"GET /.well-known/oauth-protected-resource/api/mcp": true,
	"GET /.well-known/oauth-authorization-server":       true,
	"GET /oauth/authorize":                              true,
	"POST /api/auth/oauth/consent":                      true,
	"POST /oauth/token":                                 true,
	"POST /oauth/revoke":                                true,
	"POST /oauth/register":                              true,
	// Their authority is a callback token (one wait) or GitHub's HMAC
	// signature, checked by the handler (waits_test.go).
	"POST /api/scaffolder/v2/callbacks/:token": true,
	"POST /api/webhooks/github":                true,
}

// TestEveryRouteNeedsAuthentication walks rigger server's whole route table
// (every optional part switched on) and calls each route without a
// credential: all but publicRoutes answer 401.
func TestEveryRouteNeedsAuthentication(t *testing.T) {
	rec := &recordedEvents{}
	st := testStore(t)
	iss, sessions := testTokens(t, st, "http://127.0.0.1:7007")
	sealer, err := auth.NewSealer([]byte("0123456789abcdef0123456789abcdef-session"))
	if err != nil {
		t.Fatal(err)
	}
	gh, err := auth.NewGitHub(auth.GitHubConfig{ClientID: "gh", ClientSecret: "gh-secret", WebURL: "http://127.0.0.1:9", APIURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Deps{Logger: discardLogger(),
		Tokens: TokenDeps{Issuer: iss, Sessions: sessions},
		SignIn: SignInDeps{Providers: map[string]auth.RedirectProvider{"github": gh}, Sealer: sealer, Resolve: func(context.Context, auth.ProviderIdentity) (auth.User, error) {
			return auth.User{}, errors.New("none")
		}},
		MCPOAuth:   MCPOAuthDeps{Store: st},
		Auth:       auth.NewServiceTokens([]auth.ServiceToken{{Name: "ci", Token: "ci-token-0123456789-0123456789-0123", Scopes: []string{"*"}}}),
		Catalog:    CatalogDeps{Store: testStore(t)},
		Scaffolder: ScaffolderDeps{Actions: contract.NewRegistry(nil)},
		Audit:      AuditDeps{Recorder: rec, Events: rec},
	})
	param := regexp.MustCompile(`[:*][A-Za-z_]+`)
	routes := srv.engine.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d routes: the walk does not see the whole table", len(routes))
	}
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		path := param.ReplaceAllString(rt.Path, "x")
		var req *http.Request
		if stateChanging(rt.Method) {
			req = loopbackRequest(rt.Method, path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
		} else {
			req = loopbackRequest(rt.Method, path, nil)
		}
		w := httptest.NewRecorder()
		srv.Handler().ServeHTTP(w, req)
		if publicRoutes[key] {
			if w.Code == http.StatusUnauthorized && !strings.HasPrefix(rt.Path, "/api/auth/") {
				t.Errorf("%s is public but answered 401", key)
			}
			continue
		}
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s without a credential: %d %s, want 401", key, w.Code, clip(w.Body.String(), 200))
		}
	}
}
