package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/permission"
)

// tokenServer is an API server whose callers authenticate with rigger
// access tokens and stored service tokens, on a real SQLite store.
type tokenServer struct {
	srv      *Server
	sessions *auth.Sessions
	issuer   *auth.Issuer
	audit    *audit.Log
}

func newTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	st := testStore(t)
	iss, sessions := testTokens(t, st, "https://rigger.example.com")
	stored := auth.NewStoredTokens(st, nil, discardLogger(), nil)
	log := audit.New(audit.Options{Store: st})
	t.Cleanup(func() { log.Close() })
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Chain{Issuer: iss, Stored: stored}, Audit: AuditDeps{Recorder: log, Events: log},
		Tokens: TokenDeps{Issuer: iss, Sessions: sessions, Stored: stored, Admins: []string{"group:default/platform"}}})
	return &tokenServer{srv: srv, sessions: sessions, issuer: iss, audit: log}
}

func (ts *tokenServer) do(t *testing.T, method, path, bearer, body string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := loopbackRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if len(cookies) > 0 { // as a browser on rigger's own page sends them
		req.Header.Set("Origin", "http://"+req.Host)
	}
	w := httptest.NewRecorder()
	ts.srv.Handler().ServeHTTP(w, req)
	return w
}

func decode(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
}

func TestAuthDiscoveryIsPublic(t *testing.T) {
	ts := newTokenServer(t)
	w := ts.do(t, "GET", "/api/auth/.well-known/jwks.json", "", "")
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	decode(t, w, &set)
	if w.Code != 200 || len(set.Keys) != 1 || set.Keys[0]["alg"] != "ES256" || set.Keys[0]["d"] != nil {
		t.Fatalf("jwks %d %s", w.Code, w.Body)
	}
	w = ts.do(t, "GET", "/api/auth/.well-known/openid-configuration", "", "")
	var disc map[string]any
	decode(t, w, &disc)
	if w.Code != 200 || disc["issuer"] != "https://rigger.example.com" || disc["jwks_uri"] != "https://rigger.example.com/api/auth/.well-known/jwks.json" {
		t.Fatalf("discovery %d %s", w.Code, w.Body)
	}
	if root := ts.do(t, "GET", "/.well-known/openid-configuration", "", ""); root.Code != 200 || root.Body.String() != w.Body.String() {
		t.Fatalf("discovery at <iss>/.well-known: %d %s", root.Code, root.Body)
	}
	if w := ts.do(t, "GET", "/api/auth/whoami", "", ""); w.Code != 401 {
		t.Fatalf("whoami without a token: %d", w.Code)
	}
	if w := ts.do(t, "GET", "/api/auth/tokens", "", ""); w.Code != 401 {
		t.Fatalf("token list without a token: %d", w.Code)
	}
}

func TestRefreshLogoutAndWhoami(t *testing.T) {
	ts := newTokenServer(t)
	alice := auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}
	refresh, _, err := ts.sessions.Create(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	w := ts.do(t, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+refresh+`"}`)
	var got struct {
		AccessToken, RefreshToken string
	}
	decode(t, w, &got)
	if w.Code != 200 || got.AccessToken == "" || !strings.HasPrefix(got.RefreshToken, auth.RefreshPrefix) || got.RefreshToken == refresh {
		t.Fatalf("refresh %d %s", w.Code, w.Body)
	}
	w = ts.do(t, "GET", "/api/auth/whoami", got.AccessToken, "")
	var who struct {
		Ref string
		Ent []string
		Via string
	}
	decode(t, w, &who)
	if w.Code != 200 || who.Ref != alice.Ref || len(who.Ent) != 2 || who.Via != "rigger-token" {
		t.Fatalf("whoami %d %s", w.Code, w.Body)
	}
	// The old refresh token is spent: reuse is refused and ends the sign-in.
	if w := ts.do(t, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+refresh+`"}`); w.Code != 401 || !strings.Contains(w.Body.String(), "already used") {
		t.Fatalf("reused refresh token: %d %s", w.Code, w.Body)
	}
	// Cookie sessions: refresh rotates the cookie, logout revokes it.
	refresh, _, _ = ts.sessions.Create(t.Context(), alice)
	w = ts.do(t, "POST", "/api/auth/refresh", "", "", &http.Cookie{Name: RefreshCookie, Value: refresh})
	if w.Code != 200 || strings.Contains(w.Body.String(), "refreshToken") {
		t.Fatalf("cookie refresh %d %s", w.Code, w.Body)
	}
	var next *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == RefreshCookie {
			next = c
		}
	}
	if next == nil || !next.HttpOnly || next.SameSite != http.SameSiteStrictMode || next.Value == refresh {
		t.Fatalf("rotated cookie %+v", next)
	}
	if w := ts.do(t, "POST", "/api/auth/logout", "", "", next); w.Code != 204 {
		t.Fatalf("logout %d %s", w.Code, w.Body)
	}
	if w := ts.do(t, "POST", "/api/auth/refresh", "", "", next); w.Code != 401 {
		t.Fatalf("refresh after logout %d %s", w.Code, w.Body)
	}
}

func TestServiceTokenAdmin(t *testing.T) {
	ts := newTokenServer(t)
	issue := func(id auth.Identity) string {
		tok, _, err := ts.issuer.Issue(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	admin := issue(auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/platform"}})
	bob := issue(auth.Identity{Ref: "user:default/bob", Ent: []string{"user:default/bob"}})

	if w := ts.do(t, "POST", "/api/auth/tokens", bob, `{"name":"ci","scopes":["catalog.read"]}`); w.Code != 403 {
		t.Fatalf("non-admin created a token: %d %s", w.Code, w.Body)
	}
	w := ts.do(t, "POST", "/api/auth/tokens", admin, `{"name":"ci","scopes":["catalog.read"],"expiresIn":"720h"}`)
	var created struct {
		Token, ID, Name, CreatedBy string
	}
	decode(t, w, &created)
	if w.Code != 201 || !strings.HasPrefix(created.Token, auth.ServiceTokenPrefix) || created.CreatedBy != "user:default/alice" {
		t.Fatalf("create %d %s", w.Code, w.Body)
	}
	if w := ts.do(t, "POST", "/api/auth/tokens", admin, `{"name":"bad","scopes":["root"]}`); w.Code != 400 || !strings.Contains(w.Body.String(), `scope \"root\"`) {
		t.Fatalf("bad scope: %d %s", w.Code, w.Body)
	}
	w = ts.do(t, "GET", "/api/auth/tokens", admin, "")
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"name":"ci"`) || strings.Contains(w.Body.String(), created.Token) || strings.Contains(w.Body.String(), `"token"`) {
		t.Fatalf("list %d %s", w.Code, w.Body)
	}
	// The new token works, but cannot manage tokens.
	if w := ts.do(t, "GET", "/api/auth/whoami", created.Token, ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"ref":"service:ci"`) {
		t.Fatalf("whoami with the service token: %d %s", w.Code, w.Body)
	}
	if w := ts.do(t, "GET", "/api/auth/tokens", created.Token, ""); w.Code != 403 {
		t.Fatalf("a catalog.read token listed tokens: %d", w.Code)
	}
	if w := ts.do(t, "DELETE", "/api/auth/tokens/ci", admin, ""); w.Code != 200 || !strings.Contains(w.Body.String(), "revokedAt") {
		t.Fatalf("revoke %d %s", w.Code, w.Body)
	}
	if w := ts.do(t, "GET", "/api/auth/whoami", created.Token, ""); w.Code != 401 || !strings.Contains(w.Body.String(), "revoked") {
		t.Fatalf("revoked token still works: %d %s", w.Code, w.Body)
	}
	if w := ts.do(t, "DELETE", "/api/auth/tokens/nope", admin, ""); w.Code != 404 {
		t.Fatalf("revoking an unknown token: %d", w.Code)
	}
}

// TestRefreshRateLimitedPerUser: one user's session refreshed from many
// addresses (the per-address limit never triggers) is still limited: after
// the burst, 429 with Retry-After naming the per-user limit.
func TestRefreshRateLimitedPerUser(t *testing.T) {
	ts := newTokenServer(t)
	tok, _, err := ts.sessions.Create(t.Context(), auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		req := loopbackRequest("POST", "/api/auth/refresh", strings.NewReader(`{"refreshToken":"`+tok+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = fmt.Sprintf("10.0.%d.%d:4000", i/250, i%250)
		w := httptest.NewRecorder()
		ts.srv.Handler().ServeHTTP(w, req)
		if w.Code == http.StatusTooManyRequests {
			if i != userAuthBurst || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "per user") {
				t.Fatalf("refresh %d: 429 %s (Retry-After %q), want it after %d", i, w.Body, w.Header().Get("Retry-After"), userAuthBurst)
			}
			return
		}
		if w.Code != http.StatusOK {
			t.Fatalf("refresh %d: %d %s", i, w.Code, w.Body)
		}
		var out struct{ RefreshToken string }
		decode(t, w, &out)
		tok = out.RefreshToken
		if i > userAuthBurst {
			t.Fatal("never limited")
		}
	}
}

// TestRefusedRefreshIsAFailedSignIn: a spent refresh token (in the body or
// the cookie) is audited as token.use-denied, which the sign-in failures
// alert counts, and the spent cookie is cleared; a refresh without any
// token is only auth.denied (a browser that never signed in).
func TestRefusedRefreshIsAFailedSignIn(t *testing.T) {
	ts := newTokenServer(t)
	tok, _, err := ts.sessions.Create(t.Context(), auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice"}})
	if err != nil {
		t.Fatal(err)
	}
	if w := ts.do(t, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+tok+`"}`); w.Code != http.StatusOK {
		t.Fatalf("first refresh: %d %s", w.Code, w.Body)
	}
	if w := ts.do(t, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+tok+`"}`); w.Code != http.StatusUnauthorized {
		t.Fatalf("the spent token again: %d %s", w.Code, w.Body)
	}
	w := ts.do(t, "POST", "/api/auth/refresh", "", "", &http.Cookie{Name: RefreshCookie, Value: tok})
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("the spent token in the cookie: %d %s", w.Code, w.Body)
	}
	cleared := false
	for _, c := range w.Result().Cookies() {
		cleared = cleared || c.Name == RefreshCookie && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("the spent refresh cookie is not cleared: %v", w.Result().Cookies())
	}
	if w := ts.do(t, "POST", "/api/auth/refresh", "", ""); w.Code != http.StatusUnauthorized {
		t.Fatalf("refresh without a token: %d %s", w.Code, w.Body)
	}
	if err := ts.audit.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	page, err := ts.audit.Events(t.Context(), audit.Query{Target: "/api/auth/refresh"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, e.Event.Action)
	}
	if strings.Join(got, " ") != "auth.denied token.use-denied token.use-denied" {
		t.Fatalf("refresh events, newest first: %v", got)
	}
}

// TestAuditLogNeedsAuditRead: a signed-in user who is not an admin gets
// 403 from the audit log (it used to answer any signed-in user), with and
// without a permission policy; an admin reads it.
func TestAuditLogNeedsAuditRead(t *testing.T) {
	ts := newTokenServer(t)
	policy, err := permission.Default()
	if err != nil {
		t.Fatal(err)
	}
	withPolicy := New(Deps{Logger: discardLogger(), Auth: auth.Chain{Issuer: ts.issuer}, Policy: policy.WithAdmins([]string{"group:default/platform"}),
		Audit: AuditDeps{Recorder: ts.audit, Events: ts.audit}, Tokens: TokenDeps{Issuer: ts.issuer, Admins: []string{"group:default/platform"}}})
	for _, c := range []struct {
		name string
		id   auth.Identity
		want int
	}{
		{"a user", auth.Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}, http.StatusForbidden},
		{"an admin", auth.Identity{Ref: "user:default/root", Ent: []string{"user:default/root", "group:default/platform"}}, http.StatusOK},
	} {
		access, _, err := ts.issuer.Issue(t.Context(), c.id)
		if err != nil {
			t.Fatal(err)
		}
		for name, srv := range map[string]*Server{"no policy": ts.srv, "default policy": withPolicy} {
			req := loopbackRequest("GET", "/api/audit/events", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, req)
			if w.Code != c.want || (c.want == http.StatusForbidden && !strings.Contains(w.Body.String(), "reading the audit log needs audit.read")) {
				t.Errorf("%s, %s: %d %s, want %d", c.name, name, w.Code, w.Body, c.want)
			}
		}
	}
}
