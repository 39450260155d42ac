package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/auth/oidctest"
	"github.com/riggerdev/rigger/internal/store"
)

// These tests run rigger's authorization server for MCP clients on a real
// loopback listener: a real OpenID provider (oidctest) signs the person
// in, golang.org/x/oauth2 is the MCP client (PKCE S256), a cookie-keeping
// HTTP client is the person's browser, SQLite keeps clients, codes and
// grants. /api/mcp is a test-only handler behind the real authentication
// middleware (the MCP endpoint itself is another part of issue 22): it
// answers who the caller is.

// mcpCallback is the redirect URI the test client registers (nothing
// listens there: the browser only reads the redirect).
const mcpCallback = "http://127.0.0.1:53682/callback"

type oauthFixture struct {
	base   string
	srv    *Server
	st     *store.SQL
	log    *audit.Log
	op     *oidctest.OP
	iss    *auth.Issuer
	sealer *auth.Sealer
	clock  *offsetClock
}

// offsetClock is the authorization server's clock: the real time plus an
// offset a test moves.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) Add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

func newOAuthFixture(t *testing.T, mutate func(*Deps)) *oauthFixture {
	t.Helper()
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	st, op, oidc := signInProvider(t, base)
	resolver, err := auth.NewResolver(st, auth.ResolverConfig{Strategies: []string{auth.ResolveByEmail, auth.ResolveByName}})
	if err != nil {
		t.Fatal(err)
	}
	sealer := testSealer(t)
	iss, sessions := testTokens(t, st, base)
	log := audit.New(audit.Options{Store: st})
	t.Cleanup(func() { log.Close() })
	clock := &offsetClock{}
	// Dev: the browser's cookies are not Secure on http://127.0.0.1.
	d := Deps{Logger: discardLogger(), Auth: auth.Chain{Issuer: iss}, BaseURL: base, Dev: true,
		Tokens:   TokenDeps{Issuer: iss, Sessions: sessions},
		SignIn:   SignInDeps{Providers: map[string]auth.RedirectProvider{"oidc": oidc}, Resolve: resolver.Resolve, Sealer: sealer},
		Audit:    AuditDeps{Recorder: log, Events: log},
		MCPOAuth: MCPOAuthDeps{Store: st, Now: clock.Now}}
	if mutate != nil {
		mutate(&d)
	}
	srv := New(d)
	// The test's stand-in for /api/mcp, behind the real middleware
	// (unless the server serves the real one: the MCP tests use it).
	if !slices.ContainsFunc(srv.engine.Routes(), func(r gin.RouteInfo) bool { return r.Path == "/api/mcp" }) {
		srv.engine.Group("/api", srv.authenticate()).Any("/mcp", func(c *gin.Context) {
			id := identity(c)
			c.JSON(http.StatusOK, gin.H{"ref": id.Ref, "channel": id.Channel, "via": id.Via, "mcpScopes": id.MCPScopes, "client": id.Client})
		})
	}
	// Many flows from one address in one test: the per-address limit of
	// sign-in and token requests is not what these tests are about.
	srv.authLimits.burst = 1000
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	return &oauthFixture{base: base, srv: srv, st: st, log: log, op: op, iss: iss, sealer: sealer, clock: clock}
}

// browser is the person's browser: it keeps cookies, sends its page's
// Origin with a form, and stops at every redirect so the test sees it.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) get(u string) (*http.Response, string) {
	b.t.Helper()
	if strings.HasPrefix(u, "/") {
		u = b.base + u
	}
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

func (b *browser) postForm(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	return b.do(req)
}

var hiddenInput = regexp.MustCompile(`name="(request|csrf)" value="([^"]+)"`)

// consentForm reads the hidden fields of a consent page.
func consentForm(t *testing.T, page string) url.Values {
	t.Helper()
	f := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page, -1) {
		f.Set(m[1], m[2])
	}
	if f.Get("request") == "" || f.Get("csrf") == "" {
		t.Fatalf("no consent form in %.600s", page)
	}
	return f
}

// authorize runs the browser's part: the consent page, a sign-in at the
// provider as user when the browser has no session, the consent page
// again, and the click on decision. It returns the redirect to the client.
func (f *oauthFixture) authorize(t *testing.T, b *browser, authURL, user, decision string) *url.URL {
	t.Helper()
	for range 2 {
		resp, page := b.get(authURL)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("authorize: %d %s", resp.StatusCode, page)
		}
		form := consentForm(t, page)
		form.Set("decision", decision)
		f.clock.Add(oauthConsentDelay) // the person reads before clicking
		resp, page = b.postForm(oauthConsentPath, form)
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusSeeOther || err != nil {
			t.Fatalf("consent: %d %s", resp.StatusCode, page)
		}
		if !strings.HasPrefix(loc.Path, "/api/auth/oidc/start") {
			return loc
		}
		// No session: sign in, and come back to the authorization URL.
		resp, _ = b.get(loc.String())
		opURL, _ := resp.Location()
		cb := f.op.SignIn(t, opURL.String(), user, oidctest.Password(user))
		resp, page = b.get(cb.String())
		back, _ := resp.Location()
		if resp.StatusCode != http.StatusFound || back == nil || !strings.HasPrefix(back.Path, "/oauth/authorize") {
			t.Fatalf("sign-in callback: %d to %v: %s", resp.StatusCode, back, page)
		}
		authURL = back.String()
	}
	t.Fatal("the consent page asked to sign in twice")
	return nil
}

// discover follows an MCP client's discovery from a 401 of /api/mcp:
// the challenge's resource metadata, then the authorization server's.
func (f *oauthFixture) discover(t *testing.T) (resource string, as map[string]any) {
	t.Helper()
	resp, err := http.Get(f.base + "/api/mcp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	m := regexp.MustCompile(`^Bearer resource_metadata="([^"]+)"$`).FindStringSubmatch(resp.Header.Get("WWW-Authenticate"))
	if resp.StatusCode != http.StatusUnauthorized || m == nil {
		t.Fatalf("/api/mcp without a token: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	var prm struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		Scopes               []string `json:"scopes_supported"`
	}
	getJSON(t, m[1], &prm)
	if prm.Resource != f.base+"/api/mcp" || len(prm.AuthorizationServers) != 1 || prm.AuthorizationServers[0] != f.base ||
		!slices.Equal(prm.Scopes, []string{"mcp:read", "mcp:write"}) {
		t.Fatalf("protected-resource metadata %+v", prm)
	}
	getJSON(t, prm.AuthorizationServers[0]+"/.well-known/oauth-authorization-server", &as)
	return prm.Resource, as
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// postJSON posts a JSON body and decodes the JSON answer into v.
func postJSON(t *testing.T, u, body string, v any) int {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil && v != nil {
		t.Fatalf("POST %s: %d: %v", u, resp.StatusCode, err)
	}
	return resp.StatusCode
}

// register registers a client with redirect URI mcpCallback.
func (f *oauthFixture) register(t *testing.T, endpoint string) string {
	t.Helper()
	var reg struct {
		ClientID string `json:"client_id"`
		Method   string `json:"token_endpoint_auth_method"`
	}
	if code := postJSON(t, endpoint, `{"client_name":"Test Agent","redirect_uris":["`+mcpCallback+`"],"token_endpoint_auth_method":"none"}`, &reg); code != http.StatusCreated || reg.ClientID == "" || reg.Method != "none" {
		t.Fatalf("register: %d %+v", code, reg)
	}
	return reg.ClientID
}

// client is the MCP client's OAuth configuration, from discovery.
func (f *oauthFixture) client(t *testing.T, clientID, redirect string, as map[string]any) *oauth2.Config {
	t.Helper()
	return &oauth2.Config{ClientID: clientID, RedirectURL: redirect, Scopes: []string{"mcp:read"},
		Endpoint: oauth2.Endpoint{AuthURL: as["authorization_endpoint"].(string), TokenURL: as["token_endpoint"].(string), AuthStyle: oauth2.AuthStyleInParams}}
}

// callMCP calls /api/mcp (or path) with an access token.
func (f *oauthFixture) call(t *testing.T, path, token string) (int, string, map[string]any) {
	t.Helper()
	resp, body := f.send(t, "GET", path, token)
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate") + " " + body, m
}

// send sends a request without a body to path, with a bearer token
// unless token is "", and reads the answer.
func (f *oauthFixture) send(t *testing.T, method, path, token string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, f.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signedInGrant runs discovery, registration and the authorization of
// alice, and returns the client's configuration, verifier and code.
func (f *oauthFixture) signedInGrant(t *testing.T, b *browser) (*oauth2.Config, string, string, string) {
	t.Helper()
	resource, as := f.discover(t)
	cfg := f.client(t, f.register(t, as["registration_endpoint"].(string)), mcpCallback, as)
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", resource))
	back := f.authorize(t, b, authURL, oidctest.Alice, "allow")
	q := back.Query()
	if back.Scheme+"://"+back.Host+back.Path != mcpCallback || q.Get("state") != "st-1" || q.Get("iss") != f.base || q.Get("code") == "" {
		t.Fatalf("the consent sent the browser to %s", back)
	}
	return cfg, verifier, q.Get("code"), resource
}

// TestMCPOAuthEndToEnd: discovery from a 401, registration, PKCE code
// behind sign-in and consent, the token on /api/mcp (not on REST),
// refresh, revocation refusing both tokens, and the audit trail.
func TestMCPOAuthEndToEnd(t *testing.T) {
	f := newOAuthFixture(t, nil)
	ctx := t.Context()
	b := newBrowser(t, f.base)
	cfg, verifier, code, _ := f.signedInGrant(t, b)

	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Extra("scope") != "mcp:read" || time.Until(tok.Expiry) > auth.DefaultMCPTokenTTL {
		t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	status, body, who := f.call(t, "/api/mcp", tok.AccessToken)
	if status != http.StatusOK || who["ref"] != "user:default/alice" || who["channel"] != "mcp" || who["via"] != "mcp-oauth" ||
		fmt.Sprint(who["mcpScopes"]) != "[mcp:read]" || who["client"] != cfg.ClientID {
		t.Fatalf("/api/mcp with the MCP token: %d %s", status, body)
	}
	// Not on the REST API: the audience is the MCP endpoint.
	if status, body, _ := f.call(t, "/api/auth/whoami", tok.AccessToken); status != http.StatusUnauthorized || !strings.Contains(body, "accepted only on /api/mcp") {
		t.Fatalf("whoami with the MCP token: %d %s", status, body)
	}
	// The browser's session is its own: the MCP refresh token is refused
	// at /api/auth/refresh.
	req, _ := http.NewRequest("POST", f.base+"/api/auth/refresh", strings.NewReader(`{"refreshToken":"`+tok.RefreshToken+`"}`))
	req.Header.Set("Content-Type", "application/json")
	if resp, body := newBrowser(t, f.base).do(req); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "MCP client's grant") {
		t.Fatalf("REST refresh with the MCP refresh token: %d %s", resp.StatusCode, body)
	}

	// Refresh: a new access token and a new refresh token.
	next, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || next.RefreshToken == tok.RefreshToken || next.AccessToken == "" {
		t.Fatalf("refresh: %+v %v", next, err)
	}
	if status, body, who := f.call(t, "/api/mcp", next.AccessToken); status != http.StatusOK || who["channel"] != "mcp" {
		t.Fatalf("/api/mcp with the refreshed token: %d %s", status, body)
	}

	// Revocation (RFC 7009) ends the grant: its access and refresh tokens.
	resp, err := http.PostForm(f.base+"/oauth/revoke", url.Values{"token": {next.RefreshToken}, "client_id": {cfg.ClientID}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	resp.Body.Close()
	status, body, _ = f.call(t, "/api/mcp", next.AccessToken)
	if status != http.StatusUnauthorized || !strings.Contains(body, `error="invalid_token"`) || !strings.Contains(body, "resource_metadata=") {
		t.Fatalf("/api/mcp after revocation: %d %s", status, body)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("refresh after revocation: %v", err)
	}

	if err := f.log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"mcp.oauth.client.register", "mcp.oauth.consent", "mcp.oauth.token.issue", "mcp.oauth.token.refresh", "mcp.oauth.token.revoke"} {
		recs, err := f.st.AuditRecords(ctx, store.AuditQuery{Action: action})
		if err != nil || len(recs) == 0 {
			t.Fatalf("no %s audit event (%v)", action, err)
		}
		for _, r := range recs {
			if s := string(r.Body); strings.Contains(s, tok.AccessToken) || strings.Contains(s, tok.RefreshToken) || strings.Contains(s, code) {
				t.Fatalf("%s audit event holds a token: %s", action, s)
			}
		}
	}
}
