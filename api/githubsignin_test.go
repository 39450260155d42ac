package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/audit"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

// ghOAuthFake is a fake of GitHub's OAuth and user endpoints (named as a
// fake: GitHub cannot run here) with GitHub's paths and answers: the
// authorize page approves at once for alice, the token endpoint grants
// the scopes asked for, /user and /user/emails answer for its token.
func ghOAuthFake(t *testing.T, token string) *httptest.Server {
	t.Helper()
	var scope string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		scope = q.Get("scope")
		u, _ := url.Parse(q.Get("redirect_uri"))
		u.RawQuery = url.Values{"code": {"code-1"}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte("access_token=" + token + "&scope=" + url.QueryEscape(strings.Join(strings.Fields(scope), ",")) + "&token_type=bearer"))
	})
	authed := func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
			return false
		}
		return true
	}
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			_ = json.NewEncoder(w).Encode(map[string]any{"login": "alice-gh", "id": 7001, "type": "User", "name": "Alice"})
		}
	})
	mux.HandleFunc("GET /user/emails", func(w http.ResponseWriter, r *http.Request) {
		if authed(w, r) {
			_ = json.NewEncoder(w).Encode([]map[string]any{{"email": "alice@example.com", "primary": true, "verified": true}})
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestGitHubSignInKeepsTheUsersToken: signing in with GitHub through the
// API's routes stores the OAuth token sealed for the user, with the scopes
// granted, so a task can be granted it; the token appears in no response,
// cookie, audit event or log line.
func TestGitHubSignInKeepsTheUsersToken(t *testing.T) {
	const token = "gho_aliceSIGNINtoken77"
	fake := ghOAuthFake(t, token)
	st := testStore(t)
	storetest.Seed(t, st, signInCatalog)
	gh, err := auth.NewGitHub(auth.GitHubConfig{ClientID: "gh", ClientSecret: "gh-secret", WebURL: fake.URL, APIURL: fake.URL, UserTokenScopes: []string{"repo"}})
	if err != nil {
		t.Fatal(err)
	}
	resolver, err := auth.NewResolver(st, auth.ResolverConfig{Strategies: []string{auth.ResolveByEmail}})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := auth.NewSealer([]byte("0123456789abcdef0123456789abcdef-session"))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("0123456789abcdef0123456789abcdef")
	iss, err := auth.NewIssuer(t.Context(), auth.IssuerOptions{Store: st, DataKey: key, URL: signInBase})
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := auth.NewSessions(st, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	ut, err := auth.NewUserTokens(st, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	alog := audit.New(audit.Options{Store: st})
	t.Cleanup(func() { alog.Close() })
	srv := New(Deps{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Auth: auth.Chain{Issuer: iss}, BaseURL: signInBase, Dev: true,
		Tokens: TokenDeps{Issuer: iss, Sessions: sessions},
		SignIn: SignInDeps{Providers: map[string]auth.RedirectProvider{"github": gh}, Resolve: resolver.Resolve, Sealer: sealer, UserTokens: ut},
		Audit:  AuditDeps{Recorder: alog, Events: alog}})
	ss := &signInServer{srv: srv, st: st, log: alog, dev: true}

	w := ss.do(t, "GET", "/api/auth/github/start?redirect=/catalog", "", "")
	pending := cookie(w, signInCookie)
	if w.Code != http.StatusFound || pending == nil {
		t.Fatalf("start: %d %s", w.Code, w.Body)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	w = ss.do(t, "GET", cb.RequestURI(), "", "", pending)
	if w.Code != http.StatusFound || cookie(w, RefreshCookie) == nil {
		t.Fatalf("callback: %d %s", w.Code, w.Body)
	}

	stored, err := st.UserCredential(t.Context(), "user:default/alice", "github")
	if err != nil {
		t.Fatalf("the GitHub token was not kept: %v", err)
	}
	if bytes.Contains(stored.Sealed, []byte(token)) || !strings.Contains(strings.Join(stored.Scopes, ","), "repo") {
		t.Fatalf("stored in the clear, or without the granted scopes %v", stored.Scopes)
	}
	if err := ut.Grant(t.Context(), "task-1", "USER_OAUTH_TOKEN", "user:default/alice", "github", []string{"repo"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := ut.ForTask(t.Context(), "task-1", "USER_OAUTH_TOKEN", "user:default/alice")
	if err != nil || got.Reveal() != token {
		t.Fatalf("the granted token is not the one GitHub gave: %v", err)
	}

	events := ss.events(t, "auth.login")
	raw, _ := json.Marshal(events)
	for what, text := range map[string]string{"response": w.Body.String() + w.Header().Get("Location") + w.Header().Get("Set-Cookie"),
		"audit": string(raw), "log": logs.String()} {
		if strings.Contains(text, token) {
			t.Fatalf("the token is in the %s", what)
		}
	}
	if len(events) != 1 {
		t.Fatalf("auth.login events: %s", raw)
	}
}
