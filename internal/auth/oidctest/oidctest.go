// Package oidctest runs a real OpenID provider for tests: zitadel's pkg/op
// with its example login UI and in-memory storage, on 127.0.0.1, with its
// own RSA signing key; a Browser that signs a user in through its login
// form; and a TamperingProxy in front of it that alters the ID tokens it
// issues, for the cases a real provider never produces.
//
// Only test code imports it (internal/archtest checks that): it is no
// provider to run rigger against.
package oidctest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// ClientSecret is the secret of every client the provider knows: "web" and
// "other" (ID tokens without the user's claims, which come from userinfo)
// and "claims" (the email claims inside the ID token).
const ClientSecret = "web-secret-0123456789-0123456789"

// The provider's users; each one's password is its name + "-pw".
//   - alice: email alice@example.com, verified
//   - bob: email bob@example.com, which the provider says is not verified
//     (email_verified: false)
//   - carol: no email
const (
	Alice = "alice"
	Bob   = "bob"
	Carol = "carol"
)

// Password is the password of user (one of Alice, Bob, Carol).
func Password(user string) string { return user + "-pw" }

// OP is a running OpenID provider.
type OP struct {
	// Issuer is its issuer URL (http://127.0.0.1:port).
	Issuer string
	// Proxy is in front of it: set a Tamper mode to alter the ID tokens
	// of the token endpoint's answers.
	Proxy *TamperingProxy
}

// Start runs the provider on 127.0.0.1 until the test ends; its clients
// accept redirectURIs (the relying party's callbacks).
func Start(t testing.TB, redirectURIs ...string) *OP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	users := testUsers{
		"id-alice": {ID: "id-alice", Username: Alice, Password: Password(Alice), FirstName: "Alice", LastName: "Liddell",
			Email: "alice@example.com", EmailVerified: true, PreferredLanguage: language.English},
		"id-bob": {ID: "id-bob", Username: Bob, Password: Password(Bob), FirstName: "Bob", LastName: "B",
			Email: "bob@example.com", EmailVerified: false, PreferredLanguage: language.English},
		"id-carol": {ID: "id-carol", Username: Carol, Password: Password(Carol), FirstName: "Carol", LastName: "C",
			PreferredLanguage: language.English},
	}
	clients := map[string]*storage.Client{}
	for _, c := range []*storage.Client{
		storage.WebClient("web", ClientSecret, redirectURIs...),
		storage.WebClient("other", ClientSecret, redirectURIs...),
		storage.WebClient("claims", ClientSecret, redirectURIs...),
	} {
		clients[c.GetID()] = c
	}
	st := &opStorage{Storage: storage.NewStorageWithClients(users, clients), users: users}
	proxy := &TamperingProxy{next: exampleop.SetupServer(issuer, st, slog.New(slog.DiscardHandler), false)}
	srv.Config.Handler = proxy
	srv.Start()
	t.Cleanup(srv.Close)
	return &OP{Issuer: issuer, Proxy: proxy}
}

// testUsers is the provider's user directory.
type testUsers map[string]*storage.User

func (u testUsers) GetUserByID(id string) *storage.User { return u[id] }
func (u testUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u testUsers) ExampleClientID() string { return "service" }

// opStorage is the example storage with two changes: an unverified email is
// sent as an explicit email_verified=false (the example omits false), and
// client "claims" gets its email claims in the ID token itself.
type opStorage struct {
	*storage.Storage
	users testUsers
}

func (s *opStorage) markUnverified(ui *zoidc.UserInfo) {
	if u := s.users[ui.Subject]; u != nil && u.Email != "" && !u.EmailVerified && ui.Email != "" {
		ui.AppendClaims("email_verified", false)
	}
}

func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, token op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, token, scopes); err != nil {
		return err
	}
	s.markUnverified(ui)
	return nil
}

func (s *opStorage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	s.markUnverified(ui)
	return nil
}

type claimsInIDToken struct{ op.Client }

func (claimsInIDToken) IDTokenUserinfoClaimsAssertion() bool { return true }

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err == nil && id == "claims" {
		return claimsInIDToken{c}, nil
	}
	return c, err
}

// Tamper is what the TamperingProxy does to the ID tokens the provider
// issues.
type Tamper string

// Tamper modes.
const (
	// Honest passes the ID token through.
	Honest Tamper = ""
	// Payload puts another subject in, keeping the provider's signature.
	Payload Tamper = "payload"
	// Signature changes one byte of the signature.
	Signature Tamper = "signature"
	// AlgNone re-encodes the token with alg "none" and no signature.
	AlgNone Tamper = "none"
	// HS256 signs the token with the client secret as an HMAC key.
	HS256 Tamper = "hs256"
	// Swap answers with another ID token (given to Set).
	Swap Tamper = "swap"
)

// TamperingProxy sits in front of the provider and, in a Tamper mode,
// alters the id_token of the token endpoint's answers: what an attacker in
// the middle or a broken provider would send.
type TamperingProxy struct {
	next http.Handler
	mu   sync.Mutex
	mode Tamper
	swap string // the id_token Swap puts in
	last string // the last id_token the provider issued
}

// Set chooses the mode; swap is the ID token the Swap mode answers with.
func (t *TamperingProxy) Set(mode Tamper, swap string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mode, t.swap = mode, swap
}

// LastIDToken is the last ID token the provider issued (before tampering).
func (t *TamperingProxy) LastIDToken() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func (t *TamperingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/oauth/token" {
		t.next.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	t.next.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var m map[string]any
	if rec.Code == http.StatusOK && json.Unmarshal(body, &m) == nil {
		if raw, ok := m["id_token"].(string); ok {
			t.mu.Lock()
			t.last = raw
			m["id_token"] = t.tamper(raw)
			t.mu.Unlock()
			body, _ = json.Marshal(m)
		}
	}
	for k, v := range rec.Header() {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

func (t *TamperingProxy) tamper(raw string) string {
	parts := strings.Split(raw, ".")
	b64 := base64.RawURLEncoding
	switch t.mode {
	case Payload:
		p, _ := b64.DecodeString(parts[1])
		var claims map[string]any
		_ = json.Unmarshal(p, &claims)
		claims["sub"] = "mallory"
		p, _ = json.Marshal(claims)
		return parts[0] + "." + b64.EncodeToString(p) + "." + parts[2]
	case Signature:
		s, _ := b64.DecodeString(parts[2])
		s[len(s)/2] ^= 0x5a
		return parts[0] + "." + parts[1] + "." + b64.EncodeToString(s)
	case AlgNone:
		return b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	case HS256:
		h := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		mac := hmac.New(sha256.New, []byte(ClientSecret))
		mac.Write([]byte(h + "." + parts[1]))
		return h + "." + parts[1] + "." + b64.EncodeToString(mac.Sum(nil))
	case Swap:
		return t.swap
	}
	return raw
}

// SignIn plays the browser at the provider: it opens authURL (the
// provider's authorization URL), follows the provider's redirects to its
// login form, posts user's name and password, and returns the URL of the
// redirect that leaves the provider (the relying party's callback, with
// code and state), without following it.
func (o *OP) SignIn(t testing.TB, authURL, user, password string) *url.URL {
	t.Helper()
	opURL, _ := url.Parse(o.Issuer)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host != opURL.Host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("open the authorization URL: %v", err)
	}
	page := new(bytes.Buffer)
	_, _ = page.ReadFrom(resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if resp.StatusCode != http.StatusOK || id == "" || !strings.Contains(page.String(), `name="password"`) {
		t.Fatalf("want the provider's login form, got %d at %s: %.300s", resp.StatusCode, resp.Request.URL, page)
	}
	resp, err = c.PostForm(o.Issuer+"/login/username", url.Values{"id": {id}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatalf("post the login form: %v", err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host == opURL.Host {
		t.Fatalf("want a redirect away from the provider, got %d %v (%v)", resp.StatusCode, loc, err)
	}
	return loc
}
