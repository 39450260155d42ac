package api

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store/storetest"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/auth/oidctest"
	"github.com/riggerdev/rigger/internal/store"
)

// These tests sign in through the real routes of the API server, against
// a real OpenID provider (oidctest: zitadel's pkg/op on 127.0.0.1), with a
// real SQLite store holding the catalog's users and groups, the real
// issuer, sessions and audit log.

// signInBase is server.baseUrl: the provider sends the browser back to
// signInBase/api/auth/oidc/handler/frame.
const signInBase = "http://127.0.0.1:7007"

// signInCatalog: alice is in team-a, whose parent is engineering; carol
// (who has no email at the provider) has no User entity.
const signInCatalog = `
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: alice@example.com}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {profile: {email: bob@example.com}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, parent: engineering, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: engineering}
spec: {type: department, children: [team-a]}
`

type signInServer struct {
	srv    *Server
	st     *store.SQL
	log    *audit.Log
	op     *oidctest.OP
	sealer *auth.Sealer
	dev    bool
	peer   atomic.Int32
}

// newSignInServer serves sign-in with provider "oidc" (the real OP, by
// email then by name) and "github" (never contacted: it only receives a
// callback meant for oidc).
func newSignInServer(t *testing.T, dev bool, resolve func(context.Context, auth.ProviderIdentity) (auth.User, error)) *signInServer {
	t.Helper()
	st, op, oidc := signInProvider(t, signInBase)
	gh, err := auth.NewGitHub(auth.GitHubConfig{ClientID: "gh", ClientSecret: "gh-secret", WebURL: "http://127.0.0.1:9", APIURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	if resolve == nil {
		r, err := auth.NewResolver(st, auth.ResolverConfig{Strategies: []string{auth.ResolveByEmail, auth.ResolveByName}})
		if err != nil {
			t.Fatal(err)
		}
		resolve = r.Resolve
	}
	sealer := testSealer(t)
	iss, sessions := testTokens(t, st, signInBase)
	log := audit.New(audit.Options{Store: st})
	t.Cleanup(func() { log.Close() })
	srv := New(Deps{Logger: discardLogger(), Auth: auth.Chain{Issuer: iss}, BaseURL: signInBase, Dev: dev,
		Tokens: TokenDeps{Issuer: iss, Sessions: sessions},
		SignIn: SignInDeps{Providers: map[string]auth.RedirectProvider{"oidc": oidc, "github": gh}, Resolve: resolve, Sealer: sealer},
		Audit:  AuditDeps{Recorder: log, Events: log}})
	return &signInServer{srv: srv, st: st, log: log, op: op, sealer: sealer, dev: dev}
}

// signInProvider is a SQLite store holding signInCatalog and the real
// OpenID provider "oidc" sending the browser back to base's callback.
func signInProvider(t *testing.T, base string) (*store.SQL, *oidctest.OP, auth.RedirectProvider) {
	t.Helper()
	st := testStore(t)
	storetest.Seed(t, st, signInCatalog)
	op := oidctest.Start(t, base+"/api/auth/oidc/handler/frame")
	oidc, err := auth.NewOIDC(auth.OIDCConfig{IssuerURL: op.Issuer, ClientID: "web", ClientSecret: oidctest.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	return st, op, oidc
}

func testSealer(t *testing.T) *auth.Sealer {
	t.Helper()
	sealer, err := auth.NewSealer([]byte("0123456789abcdef0123456789abcdef-session"))
	if err != nil {
		t.Fatal(err)
	}
	return sealer
}

// do sends a request as a browser at signInBase would, from its own
// address (sign-in routes are rate-limited per address); cookies go along,
// and with them, on a POST, the page's own Origin.
func (ss *signInServer) do(t *testing.T, method, target, bearer, body string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := loopbackRequest(method, target, r)
	req.RemoteAddr = fmt.Sprintf("192.0.2.%d:4242", ss.peer.Add(1)%250+1)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	if len(cookies) > 0 && method == http.MethodPost {
		req.Header.Set("Origin", signInBase)
	}
	w := httptest.NewRecorder()
	ss.srv.Handler().ServeHTTP(w, req)
	return w
}

func cookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// start opens /api/auth/oidc/start?query and checks it sends the browser
// to the provider with the pending sign-in cookie; it returns the cookie
// and the provider's authorization URL.
func (ss *signInServer) start(t *testing.T, query string) (*http.Cookie, string) {
	t.Helper()
	w := ss.do(t, "GET", "/api/auth/oidc/start?"+query, "", "")
	pending := cookie(w, signInCookie)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusFound || pending == nil || !strings.HasPrefix(loc, ss.op.Issuer+"/") {
		t.Fatalf("start: %d to %q, cookie %+v: %s", w.Code, loc, pending, w.Body)
	}
	if !pending.HttpOnly || pending.SameSite != http.SameSiteLaxMode || pending.Path != "/api/auth" || pending.Secure == ss.dev {
		t.Fatalf("the pending sign-in cookie is %+v", pending)
	}
	return pending, loc
}

// callback signs user in at the provider and returns the request path of
// its redirect back to rigger.
func (ss *signInServer) callback(t *testing.T, authURL, user string) *url.URL {
	t.Helper()
	cb := ss.op.SignIn(t, authURL, user, oidctest.Password(user))
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != signInBase+"/api/auth/oidc/handler/frame" {
		t.Fatalf("the provider sent the browser to %s", cb)
	}
	return cb
}

// signIn runs start, the provider's login and the callback.
func (ss *signInServer) signIn(t *testing.T, query, user string) *httptest.ResponseRecorder {
	t.Helper()
	pending, authURL := ss.start(t, query)
	cb := ss.callback(t, authURL, user)
	return ss.do(t, "GET", cb.RequestURI(), "", "", pending)
}

func (ss *signInServer) events(t *testing.T, action string) []audit.Event {
	t.Helper()
	if err := ss.log.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	recs, err := ss.st.AuditRecords(t.Context(), store.AuditQuery{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]audit.Event, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal(r.Body, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func wantRefused(t *testing.T, w *httptest.ResponseRecorder, status int, contains string) {
	t.Helper()
	if w.Code != status || !strings.Contains(w.Body.String(), contains) {
		t.Fatalf("want %d with %q, got %d %s", status, contains, w.Code, w.Body)
	}
	if c := cookie(w, RefreshCookie); c != nil && c.Value != "" {
		t.Fatalf("a refused sign-in set a session cookie %+v", c)
	}
}

// TestBrowserSignIn: start, the provider's login form, the callback, the
// session cookie, refresh, whoami; and the audit event.
func TestBrowserSignIn(t *testing.T) {
	for _, dev := range []bool{false, true} {
		t.Run(fmt.Sprintf("dev=%v", dev), func(t *testing.T) {
			ss := newSignInServer(t, dev, nil)
			w := ss.signIn(t, "redirect="+url.QueryEscape("/catalog/default/component/x?tab=api"), oidctest.Alice)
			if w.Code != http.StatusFound || w.Header().Get("Location") != "/catalog/default/component/x?tab=api" {
				t.Fatalf("callback: %d to %q: %s", w.Code, w.Header().Get("Location"), w.Body)
			}
			session := cookie(w, RefreshCookie)
			if session == nil || !strings.HasPrefix(session.Value, auth.RefreshPrefix) || !session.HttpOnly ||
				session.SameSite != http.SameSiteStrictMode || session.Secure == dev || session.Path != "/api/auth" {
				t.Fatalf("session cookie %+v", session)
			}
			if c := cookie(w, signInCookie); c == nil || c.MaxAge >= 0 {
				t.Fatalf("the pending sign-in cookie is not cleared: %+v", c)
			}

			// The page refreshes with the cookie from its own origin.
			w = ss.do(t, "POST", "/api/auth/refresh", "", "", session)
			var tok struct {
				AccessToken  string `json:"accessToken"`
				RefreshToken string `json:"refreshToken"`
			}
			decode(t, w, &tok)
			rotated := cookie(w, RefreshCookie)
			if w.Code != http.StatusOK || tok.AccessToken == "" || tok.RefreshToken != "" || rotated == nil {
				t.Fatalf("refresh: %d %s", w.Code, w.Body)
			}
			w = ss.do(t, "GET", "/api/auth/whoami", tok.AccessToken, "")
			var who struct {
				Ref string   `json:"ref"`
				Ent []string `json:"ent"`
			}
			decode(t, w, &who)
			want := []string{"group:default/engineering", "group:default/team-a", "user:default/alice"}
			slices.Sort(who.Ent)
			if w.Code != http.StatusOK || who.Ref != "user:default/alice" || !slices.Equal(who.Ent, want) {
				t.Fatalf("whoami: %d %s (want ent %v)", w.Code, w.Body, want)
			}

			// A refresh from another origin is refused.
			req := loopbackRequest("POST", "/api/auth/refresh", nil)
			req.AddCookie(rotated)
			req.Header.Set("Origin", "https://evil.example")
			rec := httptest.NewRecorder()
			ss.srv.Handler().ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("cross-origin refresh: %d %s", rec.Code, rec.Body)
			}

			logins := ss.events(t, "auth.login")
			if len(logins) != 1 || logins[0].Actor != "user:default/alice" || logins[0].Target != "provider:oidc" ||
				logins[0].Decision != audit.Allow || logins[0].Details["cli"] != "false" || logins[0].RequestID == "" ||
				logins[0].Details["providerSubject"] != "id-alice" || logins[0].Details["providerEmail"] != "alice@example.com" {
				t.Fatalf("auth.login events: %+v", logins)
			}
		})
	}
}

// TestSignInOpenRedirect: a return path that would leave rigger's origin
// lands on "/" (browsers drop tabs and newlines from a URL, so "/\t/host"
// is "//host" to them).
func TestSignInOpenRedirect(t *testing.T) {
	ss := newSignInServer(t, false, nil)
	for _, r := range []string{"//evil.example", "https://evil.example/", `/\evil.example`, "evil.example",
		"/\r\nLocation: https://evil.example", "/\t/evil.example", "/\x7f/evil.example", "\t//evil.example"} {
		t.Run(strconv.Quote(r), func(t *testing.T) {
			w := ss.signIn(t, "redirect="+url.QueryEscape(r), oidctest.Alice)
			if w.Code != http.StatusFound || w.Header().Get("Location") != "/" {
				t.Fatalf("redirect=%s: %d to %q", r, w.Code, w.Header().Get("Location"))
			}
		})
	}
}

// TestSignInRefusals: each way the callback can be wrong is refused with a
// message that says what was wrong, no session is made, and an
// auth.login.failed event holds the reason.
func TestSignInRefusals(t *testing.T) {
	ss := newSignInServer(t, false, nil)
	expired := func(t *testing.T) *http.Cookie {
		v, err := ss.sealer.Seal(purposeSignIn, signInState{Return: "/"}, -2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Cookie{Name: signInCookie, Value: v}
	}
	cases := []struct {
		name, user string
		// edit changes the browser's callback: its path and query, the
		// pending cookie.
		edit func(t *testing.T, cb *url.URL, pending *http.Cookie) (string, *http.Cookie)
		want string
	}{
		{name: "no pending cookie", edit: func(_ *testing.T, cb *url.URL, _ *http.Cookie) (string, *http.Cookie) { return cb.RequestURI(), nil },
			want: "no sign-in is pending in this browser"},
		{name: "tampered cookie", edit: func(_ *testing.T, cb *url.URL, p *http.Cookie) (string, *http.Cookie) {
			b := []byte(p.Value)
			b[len(b)/2] ^= 1
			return cb.RequestURI(), &http.Cookie{Name: p.Name, Value: string(b)}
		}, want: "pending sign-in"},
		{name: "expired cookie", edit: func(t *testing.T, cb *url.URL, _ *http.Cookie) (string, *http.Cookie) {
			return cb.RequestURI(), expired(t)
		},
			want: "the pending sign-in expired"},
		{name: "callback for another provider", edit: func(_ *testing.T, cb *url.URL, p *http.Cookie) (string, *http.Cookie) {
			return strings.Replace(cb.RequestURI(), "/oidc/", "/github/", 1), p
		}, want: `the sign-in was started with provider \"oidc\", not \"github\"`},
		{name: "state mismatch", edit: func(_ *testing.T, cb *url.URL, p *http.Cookie) (string, *http.Cookie) {
			q := cb.Query()
			q.Set("state", "forged"+q.Get("state"))
			return cb.Path + "?" + q.Encode(), p
		}, want: "state does not match: a replayed or forged callback"},
		{name: "provider error", edit: func(_ *testing.T, cb *url.URL, p *http.Cookie) (string, *http.Cookie) {
			return cb.Path + "?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E", p
		}, want: "the provider refused the sign-in: access_denied"},
		{name: "no User entity", user: oidctest.Carol,
			want: "no verified email; no User entity has metadata.name = carol"},
		{name: "email_verified=false", user: oidctest.Bob, want: "email_verified is false for bob@example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user := c.user
			if user == "" {
				user = oidctest.Alice
			}
			pending, authURL := ss.start(t, "redirect=/x")
			cb := ss.callback(t, authURL, user)
			target, ck := cb.RequestURI(), pending
			if c.edit != nil {
				target, ck = c.edit(t, cb, pending)
			}
			var cookies []*http.Cookie
			if ck != nil {
				cookies = append(cookies, ck)
			}
			wantRefused(t, ss.do(t, "GET", target, "", "", cookies...), http.StatusUnauthorized, c.want)
		})
	}

	t.Run("replay of the same callback", func(t *testing.T) {
		pending, authURL := ss.start(t, "")
		cb := ss.callback(t, authURL, oidctest.Alice)
		if w := ss.do(t, "GET", cb.RequestURI(), "", "", pending); w.Code != http.StatusFound {
			t.Fatalf("first callback: %d %s", w.Code, w.Body)
		}
		wantRefused(t, ss.do(t, "GET", cb.RequestURI(), "", "", pending), http.StatusUnauthorized, "state was already used: a replayed callback")
	})

	failed := ss.events(t, "auth.login.failed")
	if len(failed) != len(cases)+1 {
		t.Fatalf("%d auth.login.failed events for %d refusals: %+v", len(failed), len(cases)+1, failed)
	}
	for _, e := range failed {
		if e.Decision != audit.Deny || e.Reason == "" || e.Actor != "" || !strings.HasPrefix(e.Target, "provider:") {
			t.Errorf("auth.login.failed event %+v", e)
		}
	}
	// The refusal of a person the provider vouched for says who it was.
	if !slices.ContainsFunc(failed, func(e audit.Event) bool {
		return strings.Contains(e.Reason, "metadata.name = carol") && e.Details["providerSubject"] == "id-carol" && e.Details["providerLogin"] == "carol"
	}) {
		t.Errorf("no event names the claim looked up for carol and who carol is at the provider: %+v", failed)
	}
	if n := len(ss.events(t, "auth.login")); n != 1 { // the replay's first, good callback
		t.Errorf("%d auth.login events, want 1", n)
	}
}

// cliPair is a CLI's PKCE-style verifier and challenge.
func cliPair() (verifier, challenge string) {
	verifier = strings.Repeat("v3rifier-", 5)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func (ss *signInServer) redeem(t *testing.T, grant, verifier string) *httptest.ResponseRecorder {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"grant": grant, "verifier": verifier})
	return ss.do(t, "POST", "/api/auth/cli/token", "", string(b))
}

// TestCLISignIn: rigger login's loopback flow: the callback redirects to
// the CLI's port with a grant only the verifier redeems, once.
func TestCLISignIn(t *testing.T) {
	ss := newSignInServer(t, false, nil)
	verifier, challenge := cliPair()
	w := ss.signIn(t, "cli_challenge="+challenge+"&cli_port=45678", oidctest.Alice)
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil || loc.Scheme+"://"+loc.Host+loc.Path != "http://127.0.0.1:45678/callback" || loc.Query().Get("grant") == "" {
		t.Fatalf("callback: %d to %q: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if c := cookie(w, RefreshCookie); c != nil {
		t.Fatalf("a CLI sign-in set the browser's session cookie %+v", c)
	}
	grant := loc.Query().Get("grant")

	wantRefused(t, ss.redeem(t, grant, verifier+"x"), http.StatusUnauthorized, "the verifier does not match the challenge")
	b := []byte(grant)
	b[len(b)/2] ^= 1
	wantRefused(t, ss.redeem(t, string(b), verifier), http.StatusUnauthorized, "CLI sign-in grant")
	old, err := ss.sealer.Seal(purposeCLIGrant, cliGrant{Refresh: auth.RefreshPrefix + "x", Challenge: challenge, User: "user:default/alice"}, -2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, ss.redeem(t, old, verifier), http.StatusUnauthorized, "the CLI sign-in grant expired")
	wantRefused(t, ss.redeem(t, grant, ""), http.StatusBadRequest, `send {\"grant\"`)

	w = ss.redeem(t, grant, verifier)
	var got struct {
		RefreshToken string `json:"refreshToken"`
		User         string `json:"user"`
	}
	decode(t, w, &got)
	if w.Code != http.StatusOK || !strings.HasPrefix(got.RefreshToken, auth.RefreshPrefix) || got.User != "user:default/alice" {
		t.Fatalf("redeem: %d %s", w.Code, w.Body)
	}
	// The refresh token it gave is the user's session.
	refresh := func(rt string) *httptest.ResponseRecorder {
		return ss.do(t, "POST", "/api/auth/refresh", "", `{"refreshToken":"`+rt+`"}`)
	}
	w = refresh(got.RefreshToken)
	var tok struct {
		AccessToken  string `json:"accessToken"`
		RefreshToken string `json:"refreshToken"`
	}
	decode(t, w, &tok)
	if w.Code != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("refresh with the CLI's token: %d %s", w.Code, w.Body)
	}
	if w := ss.do(t, "GET", "/api/auth/whoami", tok.AccessToken, ""); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ref":"user:default/alice"`) {
		t.Fatalf("whoami: %d %s", w.Code, w.Body)
	}
	// The grant works once: a second redemption (someone who copied grant
	// and verifier) is refused and ends that sign-in's session.
	wantRefused(t, ss.redeem(t, grant, verifier), http.StatusUnauthorized, "this CLI sign-in grant was already redeemed")
	wantRefused(t, refresh(tok.RefreshToken), http.StatusUnauthorized, "every session of that sign-in is now revoked")

	logins := ss.events(t, "auth.login")
	if len(logins) != 1 || logins[0].Details["cli"] != "true" {
		t.Fatalf("auth.login events: %+v", logins)
	}
	// Each refused grant (wrong verifier, tampered, expired, spent) and the
	// revoked session's refresh count as failed sign-ins.
	if refused := ss.events(t, "token.use-denied"); len(refused) != 5 {
		t.Fatalf("%d token.use-denied events, want 5: %+v", len(refused), refused)
	}

	t.Run("bad start", func(t *testing.T) {
		for q, want := range map[string]string{
			"cli_challenge=short&cli_port=45678":          "cli_challenge must be",
			"cli_challenge=" + challenge:                  "needs cli_port",
			"cli_challenge=" + challenge + "&cli_port=80": "cli_port must be a port between 1024 and 65535",
		} {
			wantRefused(t, ss.do(t, "GET", "/api/auth/oidc/start?"+q, "", ""), http.StatusBadRequest, want)
		}
		wantRefused(t, ss.do(t, "GET", "/api/auth/nope/start", "", ""), http.StatusNotFound, "no sign-in provider named")
	})
}

// TestCLISignInOutOfBand: with cli_oob=1 the callback shows the grant on
// an HTML page (escaped, under the strict CSP) to paste into the terminal.
func TestCLISignInOutOfBand(t *testing.T) {
	// The OP and the catalog are real; this resolver answers a hostile
	// user ref to show the page escapes what it prints.
	hostile := func(context.Context, auth.ProviderIdentity) (auth.User, error) {
		ref := `user:default/<script>alert(1)</script>`
		return auth.User{Ref: ref, Ent: []string{ref}}, nil
	}
	for _, c := range []struct {
		name    string
		resolve func(context.Context, auth.ProviderIdentity) (auth.User, error)
		user    string
	}{{"catalog user", nil, "user:default/alice"}, {"hostile ref", hostile, "user:default/&lt;script&gt;alert(1)&lt;/script&gt;"}} {
		t.Run(c.name, func(t *testing.T) {
			ss := newSignInServer(t, false, c.resolve)
			verifier, challenge := cliPair()
			w := ss.signIn(t, "cli_challenge="+challenge+"&cli_oob=1", oidctest.Alice)
			page := w.Body.String()
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") ||
				!strings.Contains(page, "Signed in as "+c.user) || strings.Contains(page, "<script") {
				t.Fatalf("oob page: %d %s\n%s", w.Code, w.Header(), page)
			}
			csp := w.Header().Get("Content-Security-Policy")
			if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") || w.Header().Get("X-Content-Type-Options") != "nosniff" ||
				w.Header().Get("Cache-Control") != "no-store" {
				t.Fatalf("oob page headers: %v", w.Header())
			}
			_, rest, _ := strings.Cut(page, `readonly rows="8" cols="72">`)
			grant, _, ok := strings.Cut(rest, "</textarea>")
			if !ok || grant == "" {
				t.Fatalf("no code on the page:\n%s", page)
			}
			if w := ss.redeem(t, grant, verifier); w.Code != http.StatusOK {
				t.Fatalf("redeem the pasted code: %d %s", w.Code, w.Body)
			}
		})
	}
}
