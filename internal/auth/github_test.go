package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"github.com/riggerdev/rigger/internal/credentials"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// fakeGitHub is a FAKE of GitHub (github.com cannot be reached offline): an
// httptest server with GitHub's paths and payloads — web
// /login/oauth/authorize and /login/oauth/access_token (form-encoded answers,
// errors as 200 with error=..., PKCE S256 checked), API /user and
// /user/emails with the bearer token.
type fakeGitHub struct {
	srv *httptest.Server

	mu       sync.Mutex
	codes    map[string]fakeGrant // code -> grant
	tokens   map[string]string    // access token -> login
	users    map[string]fakeGHUser
	noEmails bool // /user/emails answers 404 (no permission)
}

type fakeGrant struct{ login, challenge, redirect, scope string }

type fakeGHUser struct {
	id     int64
	emails []map[string]any
}

const ghClientID, ghSecret = "Iv1.0123456789abcdef", "gh-secret-0123456789-0123456789"

func newFakeGitHub(t *testing.T) *fakeGitHub {
	f := &fakeGitHub{codes: map[string]fakeGrant{}, tokens: map[string]string{}, users: map[string]fakeGHUser{
		"octocat": {id: 583231, emails: []map[string]any{
			{"email": "octo@old.example.com", "primary": false, "verified": true, "visibility": nil},
			{"email": "octocat@github.example", "primary": true, "verified": true, "visibility": "public"},
		}},
		"unverified": {id: 42, emails: []map[string]any{{"email": "u@example.com", "primary": true, "verified": false, "visibility": "private"}}},
	}}
	mux := http.NewServeMux()
	// The authorize page: the user is signed in at GitHub already and
	// approves; ?login= (a test knob) says who.
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != ghClientID || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		code := "code-" + q.Get("state")[:8]
		f.mu.Lock()
		f.codes[code] = fakeGrant{login: q.Get("login"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), scope: q.Get("scope")}
		f.mu.Unlock()
		u, _ := url.Parse(q.Get("redirect_uri"))
		u.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		f.mu.Lock()
		g, ok := f.codes[r.PostForm.Get("code")]
		delete(f.codes, r.PostForm.Get("code"))
		f.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case r.PostForm.Get("client_id") != ghClientID || r.PostForm.Get("client_secret") != ghSecret:
			_, _ = w.Write([]byte("error=incorrect_client_credentials&error_description=The+client_id+and%2For+client_secret+passed+are+incorrect."))
		case !ok || g.redirect != r.PostForm.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			_, _ = w.Write([]byte("error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired."))
		default:
			tok := "gho_" + strings.Repeat("x", 8) + g.login
			f.mu.Lock()
			f.tokens[tok] = g.login
			f.mu.Unlock()
			// GitHub answers the granted scopes comma-separated.
			granted := strings.Join(strings.Fields(g.scope), ",")
			_, _ = w.Write([]byte("access_token=" + tok + "&scope=" + url.QueryEscape(granted) + "&token_type=bearer"))
		}
	})
	auth := func(w http.ResponseWriter, r *http.Request) (fakeGHUser, string, bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		login, ok := f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`))
			return fakeGHUser{}, "", false
		}
		return f.users[login], login, true
	}
	mux.HandleFunc("GET /api/v3/user", func(w http.ResponseWriter, r *http.Request) {
		if u, login, ok := auth(w, r); ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"login": login, "id": u.id, "node_id": "MDQ6VXNlcjE=", "type": "User",
				"name": "The " + login, "email": nil, "site_admin": false})
		}
	})
	mux.HandleFunc("GET /api/v3/user/emails", func(w http.ResponseWriter, r *http.Request) {
		if u, _, ok := auth(w, r); ok {
			f.mu.Lock()
			no := f.noEmails
			f.mu.Unlock()
			if no {
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"message":"Not Found"}`))
				return
			}
			_ = json.NewEncoder(w).Encode(u.emails)
		}
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGitHub) setNoEmails(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noEmails = v
}

// authorize plays the browser at GitHub's authorize page and returns the
// callback's query.
func (f *fakeGitHub) authorize(t *testing.T, authURL, login string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL + "&login=" + login)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("authorize answered %d without a redirect", resp.StatusCode)
	}
	return loc.Query()
}

func TestGitHubSignIn(t *testing.T) {
	ctx := context.Background()
	f := newFakeGitHub(t)
	g, err := NewGitHub(GitHubConfig{ClientID: ghClientID, ClientSecret: ghSecret, WebURL: f.srv.URL, APIURL: f.srv.URL + "/api/v3"})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(login string) (ProviderIdentity, error) {
		u, p, err := g.Begin(ctx, "http://127.0.0.1:9/api/auth/github/callback")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, f.srv.URL+"/login/oauth/authorize?") {
			t.Fatalf("authorize URL %s", u)
		}
		return g.Finish(ctx, p, f.authorize(t, u, login))
	}

	id, err := signIn("octocat")
	want := ProviderIdentity{Provider: "github", Subject: "583231", Email: "octocat@github.example", Login: "octocat", Name: "The octocat",
		Token: credentials.NewSecret("gho_xxxxxxxxoctocat"), TokenScopes: "read:user,user:email"}
	if err != nil || id != want {
		t.Fatalf("got %+v, %v; want %+v", id, err, want)
	}
	id, err = signIn("unverified")
	if err != nil || id.Email != "" || id.Login != "unverified" {
		t.Fatalf("an unverified primary email must not be used: %+v, %v", id, err)
	}
	f.setNoEmails(true)
	id, err = signIn("octocat")
	f.setNoEmails(false)
	if err != nil || id.Email != "" || id.Login != "octocat" {
		t.Fatalf("without /user/emails the login alone: %+v, %v", id, err)
	}

	t.Run("refusals", func(t *testing.T) {
		u, p, _ := g.Begin(ctx, "http://127.0.0.1:9/cb")
		cb := f.authorize(t, u, "octocat")
		bad := p
		bad.Verifier = strings.Repeat("w", 43)
		_, err := g.Finish(ctx, bad, cb)
		wantUnauthenticated(t, err, "GitHub refused the authorization code: bad_verification_code")

		u, p, _ = g.Begin(ctx, "http://127.0.0.1:9/cb")
		cb = f.authorize(t, u, "octocat")
		forged := url.Values{"code": cb["code"], "state": {"forged"}}
		_, err = g.Finish(ctx, p, forged)
		wantUnauthenticated(t, err, "state does not match")
		if _, err := g.Finish(ctx, p, cb); err != nil {
			t.Fatalf("the real callback after a forged one: %v", err)
		}
		_, err = g.Finish(ctx, p, cb)
		wantUnauthenticated(t, err, "state was already used")

		wrong, _ := NewGitHub(GitHubConfig{ClientID: ghClientID, ClientSecret: "wrong", WebURL: f.srv.URL, APIURL: f.srv.URL + "/api/v3"})
		u, p, _ = wrong.Begin(ctx, "http://127.0.0.1:9/cb")
		_, err = wrong.Finish(ctx, p, f.authorize(t, u, "octocat"))
		wantUnauthenticated(t, err, "incorrect_client_credentials")
	})
}

func TestGitHubEnterpriseURLs(t *testing.T) {
	g, err := NewGitHub(GitHubConfig{ClientID: "a", ClientSecret: "b", EnterpriseURL: "https://ghe.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if g.cfg.WebURL != "https://ghe.example.com" || g.cfg.APIURL != "https://ghe.example.com/api/v3" {
		t.Fatalf("got %s, %s", g.cfg.WebURL, g.cfg.APIURL)
	}
	if _, err := NewGitHub(GitHubConfig{ClientID: "a", ClientSecret: "b", EnterpriseURL: "http://ghe.example.com"}); err == nil {
		t.Fatal("an http enterprise URL must be refused")
	}
	d, _ := NewGitHub(GitHubConfig{ClientID: "a", ClientSecret: "b"})
	if d.cfg.WebURL != "https://github.com" || d.cfg.APIURL != "https://api.github.com" {
		t.Fatalf("got %s, %s", d.cfg.WebURL, d.cfg.APIURL)
	}
}
