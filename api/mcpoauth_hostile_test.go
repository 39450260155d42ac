package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/auth/oidctest"
	"github.com/riggerdev/rigger/internal/store"
)

// Hostile and mistaken clients of the authorization server for MCP: each
// refusal carries the RFC's error code and says what is wrong.

// tokenRequest posts a form to /oauth/token or /oauth/revoke and returns
// the status and the RFC 6749 error body.
func (f *oauthFixture) tokenRequest(t *testing.T, path string, form url.Values) (int, string, string) {
	t.Helper()
	resp, err := http.PostForm(f.base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
		Desc  string `json:"error_description"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error, e.Desc
}

func TestMCPOAuthAuthorizeRefusals(t *testing.T) {
	f := newOAuthFixture(t, nil)
	_, as := f.discover(t)
	clientID := f.register(t, as["registration_endpoint"].(string))
	challenge := oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())
	good := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {mcpCallback}, "state": {"s"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "resource": {f.base + "/api/mcp"}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q
	}
	// No redirect at all: the client or its redirect URI is not trusted.
	for name, q := range map[string]url.Values{
		"unknown client":             with("client_id", "mcp_nobody"),
		"unregistered redirect":      with("redirect_uri", "https://evil.example/callback"),
		"other path, same host":      with("redirect_uri", "http://127.0.0.1:53682/other"),
		"protocol-relative redirect": with("redirect_uri", "//evil.example/callback"),
		"no redirect_uri":            with("redirect_uri", ""),
	} {
		t.Run(name, func(t *testing.T) {
			resp, page := newBrowser(t, f.base).get("/oauth/authorize?" + q.Encode())
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(page, "refused") {
				t.Fatalf("%d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), page)
			}
		})
	}
	// Sent back to the client with the error.
	for name, tc := range map[string]struct {
		q          url.Values
		code, desc string
	}{
		"no PKCE":          {with("code_challenge", ""), "invalid_request", "PKCE is required"},
		"plain PKCE":       {with("code_challenge_method", "plain"), "invalid_request", "must be S256"},
		"no PKCE method":   {with("code_challenge_method", ""), "invalid_request", "must be S256"},
		"short challenge":  {with("code_challenge", "abc"), "invalid_request", "43 characters"},
		"another resource": {with("resource", "https://other.example/mcp"), "invalid_target", "resource must be"},
		"unknown scope":    {with("scope", "mcp:read admin"), "invalid_scope", `unknown scope "admin"`},
		"implicit grant":   {with("response_type", "token"), "unsupported_response_type", "must be code"},
		"no response_type": {with("response_type", ""), "unsupported_response_type", "must be code"},
	} {
		t.Run(name, func(t *testing.T) {
			resp, page := newBrowser(t, f.base).get("/oauth/authorize?" + tc.q.Encode())
			loc, err := resp.Location()
			if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), mcpCallback+"?") {
				t.Fatalf("%d: %s", resp.StatusCode, page)
			}
			if q := loc.Query(); q.Get("error") != tc.code || !strings.Contains(q.Get("error_description"), tc.desc) || q.Get("state") != "s" || q.Get("code") != "" {
				t.Fatalf("redirect %s", loc)
			}
		})
	}
	t.Run("loopback on another port", func(t *testing.T) {
		resp, page := newBrowser(t, f.base).get("/oauth/authorize?" + with("redirect_uri", "http://127.0.0.1:40001/callback").Encode())
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, "127.0.0.1:40001") || !strings.Contains(page, "read-only") ||
			!strings.Contains(page, "registered itself") || !strings.Contains(page, "Test Agent") {
			t.Fatalf("%d: %s", resp.StatusCode, page)
		}
	})
}

func TestMCPOAuthConsentRefusals(t *testing.T) {
	f := newOAuthFixture(t, nil)
	_, as := f.discover(t)
	cfg := f.client(t, f.register(t, as["registration_endpoint"].(string)), mcpCallback, as)
	b := newBrowser(t, f.base)
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	// Sign in once (and deny): the browser then has a session.
	back := f.authorize(t, b, authURL, oidctest.Alice, "deny")
	if q := back.Query(); q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != "s" {
		t.Fatalf("denied consent: %s", back)
	}
	_, page := b.get(authURL)
	form := consentForm(t, page)
	form.Set("decision", "allow")
	for name, mutate := range map[string]func(url.Values) url.Values{
		"no csrf token": func(v url.Values) url.Values { v.Del("csrf"); return v },
		"wrong csrf token": func(v url.Values) url.Values {
			c := v.Get("csrf")
			flip := "x"
			if c[0] == 'x' {
				flip = "y"
			}
			v.Set("csrf", flip+c[1:])
			return v
		},
		"another request's token": func(v url.Values) url.Values {
			_, other := newBrowser(t, f.base).get(authURL)
			v.Set("csrf", consentForm(t, other).Get("csrf"))
			return v
		},
		"forged request": func(v url.Values) url.Values { v.Set("request", "x"+v.Get("request")); return v },
		// The classic CSRF: someone else's genuine consent form, posted
		// by the signed-in person's browser (which never got its cookie).
		"someone else's form": func(url.Values) url.Values {
			_, other := newBrowser(t, f.base).get(authURL)
			v := consentForm(t, other)
			v.Set("decision", "allow")
			return v
		},
	} {
		t.Run(name, func(t *testing.T) {
			v := url.Values{}
			for k, vv := range form {
				v[k] = append([]string(nil), vv...)
			}
			resp, page := b.postForm(oauthConsentPath, mutate(v))
			if resp.StatusCode/100 != 4 || resp.Header.Get("Location") != "" {
				t.Fatalf("%d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), page)
			}
		})
	}
	t.Run("from another origin", func(t *testing.T) {
		req, _ := http.NewRequest("POST", f.base+oauthConsentPath, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, page := b.do(req)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Location") != "" {
			t.Fatalf("%d: %s", resp.StatusCode, page)
		}
	})
	// The untouched form still works: nothing above spent it.
	f.clock.Add(oauthConsentDelay)
	resp, page := b.postForm(oauthConsentPath, form)
	if loc, err := resp.Location(); err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("the real consent: %d %s", resp.StatusCode, page)
	}
	if err := f.log.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, err := f.st.AuditRecords(t.Context(), store.AuditQuery{Action: "mcp.oauth.consent"})
	if err != nil {
		t.Fatal(err)
	}
	var denied, granted int
	for _, r := range recs {
		switch {
		case strings.Contains(string(r.Body), `"decision":"deny"`):
			denied++
		default:
			granted++
		}
	}
	if denied < 2 || granted != 1 { // the person's "deny", the CSRF refusals
		t.Fatalf("consent events: %d denied, %d granted", denied, granted)
	}
}

func TestMCPOAuthTokenRefusals(t *testing.T) {
	f := newOAuthFixture(t, nil)
	ctx := t.Context()
	b := newBrowser(t, f.base)
	cfg, verifier, code, _ := f.signedInGrant(t, b)
	// newCode authorizes again (the browser is signed in) with a fresh
	// verifier.
	newCode := func(t *testing.T) (string, string) {
		t.Helper()
		v := oauth2.GenerateVerifier()
		back := f.authorize(t, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), oidctest.Alice, "allow")
		return back.Query().Get("code"), v
	}
	exchange := func(code string, form url.Values) (int, string, string) {
		base := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {mcpCallback}, "client_id": {cfg.ClientID}}
		for k, v := range form {
			base[k] = v
		}
		return f.tokenRequest(t, "/oauth/token", base)
	}

	t.Run("code reuse revokes the grant", func(t *testing.T) {
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		status, e, desc := exchange(code, url.Values{"code_verifier": {verifier}})
		if status != http.StatusBadRequest || e != "invalid_grant" || !strings.Contains(desc, "already used") {
			t.Fatalf("%d %s %s", status, e, desc)
		}
		if status, body, _ := f.call(t, "/api/mcp", tok.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("the first redemption's token after reuse: %d %s", status, body)
		}
		if err := f.log.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := f.st.AuditRecords(ctx, store.AuditQuery{Action: audit.ActionTokenUseDenied})
		if err != nil || !slices.ContainsFunc(recs, func(r store.AuditRecord) bool { return strings.Contains(string(r.Body), "already used") }) {
			t.Fatalf("no audit event of the reused code (%v)", err)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
			t.Fatal("the first redemption's refresh token works after reuse")
		}
	})
	for name, tc := range map[string]struct {
		form       func(verifier string) url.Values
		status     int
		code, desc string
	}{
		"wrong verifier": {func(string) url.Values { return url.Values{"code_verifier": {oauth2.GenerateVerifier()}} }, 400, "invalid_grant", "code_verifier does not match"},
		"no verifier":    {func(string) url.Values { return url.Values{} }, 400, "invalid_grant", "code_verifier is required"},
		"other redirect_uri": {func(v string) url.Values {
			return url.Values{"code_verifier": {v}, "redirect_uri": {"http://127.0.0.1:53682/other"}}
		}, 400, "invalid_grant", "redirect_uri differs"},
		"unknown client": {func(v string) url.Values { return url.Values{"code_verifier": {v}, "client_id": {"mcp_nobody"}} }, 401, "invalid_client", "unknown client_id"},
		"no client":      {func(v string) url.Values { return url.Values{"code_verifier": {v}, "client_id": {""}} }, 401, "invalid_client", "client_id is required"},
		"grant type":     {func(v string) url.Values { return url.Values{"code_verifier": {v}, "grant_type": {"password"}} }, 400, "unsupported_grant_type", "authorization_code or refresh_token"},
	} {
		t.Run(name, func(t *testing.T) {
			code, v := newCode(t)
			status, e, desc := exchange(code, tc.form(v))
			if status != tc.status || e != tc.code || !strings.Contains(desc, tc.desc) {
				t.Fatalf("%d %s %s", status, e, desc)
			}
		})
	}
	t.Run("concurrent redemptions", func(t *testing.T) {
		code, v := newCode(t)
		const n = 8
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				status, _, _ := exchange(code, url.Values{"code_verifier": {v}})
				statuses <- status
			})
		}
		wg.Wait()
		close(statuses)
		ok := 0
		for s := range statuses {
			if s == http.StatusOK {
				ok++
			} else if s != http.StatusBadRequest {
				t.Fatalf("status %d", s)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent redemptions of one code succeeded", ok, n)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		code, v := newCode(t)
		f.clock.Add(oauthCodeTTL + time.Second)
		defer f.clock.Add(-oauthCodeTTL - time.Second)
		status, e, desc := exchange(code, url.Values{"code_verifier": {v}})
		if status != 400 || e != "invalid_grant" || !strings.Contains(desc, "expired") {
			t.Fatalf("%d %s %s", status, e, desc)
		}
	})
	t.Run("another client's code", func(t *testing.T) {
		code, v := newCode(t)
		_, as := f.discover(t)
		other := f.register(t, as["registration_endpoint"].(string))
		status, e, desc := exchange(code, url.Values{"code_verifier": {v}, "client_id": {other}})
		if status != 400 || e != "invalid_grant" || !strings.Contains(desc, "another client") {
			t.Fatalf("%d %s %s", status, e, desc)
		}
	})
	t.Run("refresh token reuse revokes the grant", func(t *testing.T) {
		code, v := newCode(t)
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		next, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatal(err)
		}
		status, e, desc := f.tokenRequest(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {cfg.ClientID}})
		if status != 400 || e != "invalid_grant" || !strings.Contains(desc, "already used") {
			t.Fatalf("reuse: %d %s %s", status, e, desc)
		}
		if status, body, _ := f.call(t, "/api/mcp", next.AccessToken); status != http.StatusUnauthorized {
			t.Fatalf("the refreshed token after reuse: %d %s", status, body)
		}
	})
	t.Run("another client's refresh token", func(t *testing.T) {
		code, v := newCode(t)
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatal(err)
		}
		_, as := f.discover(t)
		other := f.register(t, as["registration_endpoint"].(string))
		status, e, desc := f.tokenRequest(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {other}})
		if status != 400 || e != "invalid_grant" || !strings.Contains(desc, "not issued to client") {
			t.Fatalf("%d %s %s", status, e, desc)
		}
		// Revoking it as the other client leaves it alone (RFC 7009: 200).
		if status, _, _ := f.tokenRequest(t, "/oauth/revoke", url.Values{"token": {tok.RefreshToken}, "client_id": {other}}); status != http.StatusOK {
			t.Fatalf("revoke: %d", status)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
			t.Fatalf("the grant after another client's revocation: %v", err)
		}
	})
	t.Run("a browser session's refresh token", func(t *testing.T) {
		base, _ := url.Parse(f.base + "/api/auth")
		var session string
		for _, c := range b.c.Jar.Cookies(base) {
			if c.Name == RefreshCookie {
				session = c.Value
			}
		}
		status, e, desc := f.tokenRequest(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {session}, "client_id": {cfg.ClientID}})
		if session == "" || status != 400 || e != "invalid_grant" {
			t.Fatalf("%q: %d %s %s", session, status, e, desc)
		}
	})
}

// TestMCPOAuthTokenAudience: an MCP token opens /api/mcp only; a REST
// token (the CLI's, a service's) opens /api/mcp too; an expired one
// nothing; a user's revocation ends MCP tokens too.
func TestMCPOAuthTokenAudience(t *testing.T) {
	f := newOAuthFixture(t, nil)
	ctx := t.Context()
	alice := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice"}}
	mcpID := alice
	mcpID.Channel, mcpID.MCPScopes, mcpID.Client = auth.ChannelMCP, []string{auth.ScopeMCPRead}, "mcp_x"
	mcpTok, _, err := f.iss.IssueTTL(ctx, mcpID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	restTok, _, err := f.iss.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/auth/whoami", "/api/audit/events"} {
		if status, body, _ := f.call(t, path, mcpTok); status != http.StatusUnauthorized || !strings.Contains(body, "/api/mcp") {
			t.Fatalf("MCP token on %s: %d %s", path, status, body)
		}
	}
	if status, body, who := f.call(t, "/api/mcp", restTok); status != http.StatusOK || who["channel"] != "" || who["via"] != "rigger-token" {
		t.Fatalf("REST token on /api/mcp: %d %s", status, body)
	}
	// Expired: issued by a replica whose clock is two hours behind.
	past, err := auth.NewIssuer(ctx, auth.IssuerOptions{Store: f.st, DataKey: []byte("0123456789abcdef0123456789abcdef"), URL: f.base,
		Now: func() time.Time { return time.Now().Add(-2 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := past.IssueTTL(ctx, mcpID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if status, body, _ := f.call(t, "/api/mcp", old); status != http.StatusUnauthorized || !strings.Contains(body, "expired") || !strings.Contains(body, `error="invalid_token"`) {
		t.Fatalf("expired MCP token: %d %s", status, body)
	}
	// Another server's audience: a token of this issuer for another
	// resource is not this server's MCP token.
	other, err := auth.NewIssuer(ctx, auth.IssuerOptions{Store: f.st, DataKey: []byte("0123456789abcdef0123456789abcdef"), URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.IssueTTL(ctx, mcpID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if status, body, _ := f.call(t, "/api/mcp", foreign); status != http.StatusUnauthorized {
		t.Fatalf("another issuer's MCP token: %d %s", status, body)
	}
	// Signing out everywhere ends the MCP token too.
	if _, err := f.iss.RevokeUser(ctx, alice.Ref); err != nil {
		t.Fatal(err)
	}
	if status, body, _ := f.call(t, "/api/mcp", mcpTok); status != http.StatusUnauthorized {
		t.Fatalf("MCP token after the user's revocation: %d %s", status, body)
	}

}

func TestMCPOAuthRegistration(t *testing.T) {
	t.Run("refusals", func(t *testing.T) {
		for name, tc := range map[string]struct{ body, code, desc string }{
			"https redirect":      {`{"redirect_uris":["https://evil.example/cb"]}`, "invalid_redirect_uri", "mcp.allowedRedirectUris"},
			"loopback-like host":  {`{"redirect_uris":["http://127.0.0.1.evil.example:8/cb"]}`, "invalid_redirect_uri", "matches none"},
			"user info":           {`{"redirect_uris":["http://localhost@evil.example/cb"]}`, "invalid_redirect_uri", "no fragment and no user info"},
			"fragment":            {`{"redirect_uris":["http://127.0.0.1:5/cb#x"]}`, "invalid_redirect_uri", "no fragment"},
			"no redirect":         {`{"client_name":"x"}`, "invalid_redirect_uri", "1 to 5"},
			"confidential client": {`{"redirect_uris":["http://127.0.0.1:5/cb"],"token_endpoint_auth_method":"client_secret_basic"}`, "invalid_client_metadata", "public clients"},
		} {
			t.Run(name, func(t *testing.T) {
				f := newOAuthFixture(t, nil) // registration is rate-limited per address
				var e struct{ Error, Error_description string }
				status := postJSON(t, f.base+"/oauth/register", tc.body, &e)
				if status != 400 || e.Error != tc.code || !strings.Contains(e.Error_description, tc.desc) {
					t.Fatalf("%d %+v", status, e)
				}
			})
		}
	})
	t.Run("flood", func(t *testing.T) {
		f := newOAuthFixture(t, nil)
		var got []int
		for range regBurst + 2 {
			got = append(got, postJSON(t, f.base+"/oauth/register", `{"redirect_uris":["http://127.0.0.1:5/cb"]}`, nil))
		}
		if got[regBurst-1] != http.StatusCreated || got[regBurst] != http.StatusTooManyRequests {
			t.Fatalf("statuses %v", got)
		}
	})
	t.Run("bounded", func(t *testing.T) {
		f := newOAuthFixture(t, func(d *Deps) { d.MCPOAuth.MaxClients = 2 })
		var e struct{ Error, Error_description string }
		for range 2 {
			postJSON(t, f.base+"/oauth/register", `{"redirect_uris":["http://127.0.0.1:5/cb"]}`, nil)
		}
		if status := postJSON(t, f.base+"/oauth/register", `{"redirect_uris":["http://127.0.0.1:5/cb"]}`, &e); status != 400 || !strings.Contains(e.Error_description, "registration is closed") {
			t.Fatalf("%d %+v", status, e)
		}
	})
	t.Run("off", func(t *testing.T) {
		f := newOAuthFixture(t, func(d *Deps) { d.MCPOAuth.Registration = "off" })
		var as map[string]any
		getJSON(t, f.base+"/.well-known/oauth-authorization-server", &as)
		if _, ok := as["registration_endpoint"]; ok {
			t.Fatalf("metadata names a registration endpoint: %v", as)
		}
		if status := postJSON(t, f.base+"/oauth/register", `{"redirect_uris":["http://127.0.0.1:5/cb"]}`, nil); status != http.StatusNotFound {
			t.Fatalf("register with registration off: %d", status)
		}
	})
	t.Run("configured patterns and clients", func(t *testing.T) {
		f := newOAuthFixture(t, func(d *Deps) {
			d.MCPOAuth.AllowedRedirectURIs = []string{"https://agent.example/oauth/*"}
			d.MCPOAuth.AllowWrite = true
			d.MCPOAuth.Clients = []store.OAuthClient{{ID: "desktop", Name: "Desktop agent", RedirectURIs: []string{mcpCallback}}}
		})
		var reg struct{ Client_id string }
		if status := postJSON(t, f.base+"/oauth/register", `{"redirect_uris":["https://agent.example/oauth/cb"]}`, &reg); status != http.StatusCreated {
			t.Fatalf("allowed by pattern: %d", status)
		}
		if status := postJSON(t, f.base+"/oauth/register", `{"redirect_uris":["http://127.0.0.1:5/cb"]}`, nil); status != http.StatusBadRequest {
			t.Fatalf("loopback outside the configured patterns: %d", status)
		}
		// The pre-registered client asks for write, which allowWrite grants.
		_, as := f.discover(t)
		cfg := f.client(t, "desktop", mcpCallback, as)
		cfg.Scopes = []string{auth.ScopeMCPRead, auth.ScopeMCPWrite}
		v := oauth2.GenerateVerifier()
		back := f.authorize(t, newBrowser(t, f.base), cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), oidctest.Alice, "allow")
		tok, err := cfg.Exchange(t.Context(), back.Query().Get("code"), oauth2.VerifierOption(v))
		if err != nil || tok.Extra("scope") != "mcp:read mcp:write" {
			t.Fatalf("exchange: %v %v", err, tok)
		}
	})
}

// TestMCPOAuthWriteNeedsAllowWrite: mcp:write asked without
// mcp.allowWrite gives a read-only grant, and the consent page says so.
func TestMCPOAuthWriteNeedsAllowWrite(t *testing.T) {
	f := newOAuthFixture(t, nil)
	_, as := f.discover(t)
	cfg := f.client(t, f.register(t, as["registration_endpoint"].(string)), mcpCallback, as)
	cfg.Scopes = []string{auth.ScopeMCPRead, auth.ScopeMCPWrite}
	v := oauth2.GenerateVerifier()
	b := newBrowser(t, f.base)
	back := f.authorize(t, b, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v)), oidctest.Alice, "allow")
	if _, page := b.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(v))); !strings.Contains(page, "read-only") {
		t.Fatalf("consent page: %s", page)
	}
	tok, err := cfg.Exchange(t.Context(), back.Query().Get("code"), oauth2.VerifierOption(v))
	if err != nil || tok.Extra("scope") != "mcp:read" {
		t.Fatalf("exchange: %v %v", err, tok)
	}
	if _, _, who := f.call(t, "/api/mcp", tok.AccessToken); who["mcpScopes"] == nil || len(who["mcpScopes"].([]any)) != 1 {
		t.Fatalf("identity %v", who)
	}
}

func TestMCPOAuthMetadata(t *testing.T) {
	f := newOAuthFixture(t, nil)
	_, as := f.discover(t)
	for k, want := range map[string]string{
		"issuer": f.base, "authorization_endpoint": f.base + "/oauth/authorize", "token_endpoint": f.base + "/oauth/token",
		"registration_endpoint": f.base + "/oauth/register", "revocation_endpoint": f.base + "/oauth/revoke",
		"code_challenge_methods_supported": "[S256]", "token_endpoint_auth_methods_supported": "[none]",
		"grant_types_supported": "[authorization_code refresh_token]", "response_types_supported": "[code]",
	} {
		if got := strings.Trim(strings.ReplaceAll(metadataText(as[k]), `"`, ""), " "); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	var oidc map[string]any
	getJSON(t, f.base+"/.well-known/openid-configuration", &oidc)
	if oidc["token_endpoint"] != as["token_endpoint"] || oidc["authorization_endpoint"] != as["authorization_endpoint"] {
		t.Fatalf("openid-configuration %v", oidc)
	}
	var prm map[string]any
	getJSON(t, f.base+"/.well-known/oauth-protected-resource", &prm)
	if prm["resource"] != f.base+"/api/mcp" {
		t.Fatalf("protected-resource metadata at the root %v", prm)
	}
}

func metadataText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = metadataText(x)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// TestMCPChallengeForGuests: on a server with read-only guests, a client
// without a credential is a guest, which /api/mcp refuses with the
// challenge that sends its MCP client to sign in.
func TestMCPChallengeForGuests(t *testing.T) {
	f := newOAuthFixture(t, func(d *Deps) {
		guest, err := auth.NewNetworkGuest(d.Auth, []string{"127.0.0.0/8"})
		if err != nil {
			t.Fatal(err)
		}
		d.Auth = guest
	})
	resp, err := http.Get(f.base + "/api/mcp")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := `Bearer resource_metadata="` + f.base + `/.well-known/oauth-protected-resource/api/mcp"`; resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("guest on /api/mcp: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
