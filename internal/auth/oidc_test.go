package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/riggerdev/rigger/internal/errs"
)

// The OpenID provider of these tests is a real one: zitadel's pkg/op with
// its example login UI and in-memory storage, on 127.0.0.1, with its own RSA
// signing key. Only tamperingProxy (below) alters what it answers, for the
// cases a real provider never produces.

const (
	testRedirect = "http://127.0.0.1:9/api/auth/oidc/callback" // never contacted
	webSecret    = "web-secret-0123456789-0123456789"
)

// testUsers is the OP's user directory: alice has a verified email, bob an
// email the OP says is not verified (email_verified: false), carol has none.
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

// tamperingProxy sits in front of the OP and, when a mode is set, alters the
// id_token of the token endpoint's answer: what an attacker in the middle or
// a broken provider would send.
type tamperingProxy struct {
	next http.Handler
	mu   sync.Mutex
	mode string // "", "payload", "signature", "none", "hs256", "swap"
	swap string // the id_token "swap" puts in
	last string // the last id_token the OP issued
}

func (t *tamperingProxy) set(mode, swap string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.mode, t.swap = mode, swap
}

func (t *tamperingProxy) lastIDToken() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func (t *tamperingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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

func (t *tamperingProxy) tamper(raw string) string {
	parts := strings.Split(raw, ".")
	b64 := base64.RawURLEncoding
	switch t.mode {
	case "payload": // another subject, the OP's signature kept
		p, _ := b64.DecodeString(parts[1])
		var claims map[string]any
		_ = json.Unmarshal(p, &claims)
		claims["sub"] = "mallory"
		p, _ = json.Marshal(claims)
		return parts[0] + "." + b64.EncodeToString(p) + "." + parts[2]
	case "signature": // one signature byte changed
		s, _ := b64.DecodeString(parts[2])
		s[len(s)/2] ^= 0x5a
		return parts[0] + "." + parts[1] + "." + b64.EncodeToString(s)
	case "none":
		return b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	case "hs256": // signed with the client secret as an HMAC key
		h := b64.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		mac := hmac.New(sha256.New, []byte(webSecret))
		mac.Write([]byte(h + "." + parts[1]))
		return h + "." + parts[1] + "." + b64.EncodeToString(mac.Sum(nil))
	case "swap":
		return t.swap
	}
	return raw
}

// startOP starts the OpenID provider on 127.0.0.1 and returns its issuer
// URL and the tampering proxy in front of it.
func startOP(t *testing.T) (string, *tamperingProxy) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	users := testUsers{
		"id-alice": {ID: "id-alice", Username: "alice", Password: "alice-pw", FirstName: "Alice", LastName: "Liddell",
			Email: "alice@example.com", EmailVerified: true, PreferredLanguage: language.English},
		"id-bob": {ID: "id-bob", Username: "bob", Password: "bob-pw", FirstName: "Bob", LastName: "B",
			Email: "bob@example.com", EmailVerified: false, PreferredLanguage: language.English},
		"id-carol": {ID: "id-carol", Username: "carol", Password: "carol-pw", FirstName: "Carol", LastName: "C",
			PreferredLanguage: language.English},
	}
	clients := map[string]*storage.Client{}
	for _, c := range []*storage.Client{
		storage.WebClient("web", webSecret, testRedirect),
		storage.WebClient("other", webSecret, testRedirect),
		storage.WebClient("claims", webSecret, testRedirect),
	} {
		clients[c.GetID()] = c
	}
	st := &opStorage{Storage: storage.NewStorageWithClients(users, clients), users: users}
	proxy := &tamperingProxy{next: exampleop.SetupServer(issuer, st, nil, false)}
	srv.Config.Handler = proxy
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer, proxy
}

// browserSignIn plays the browser: it opens authURL, follows the provider's
// redirects to its login form, posts the user's name and password and
// returns the query of the redirect back to rigger's callback.
func browserSignIn(t *testing.T, issuer, authURL, user, password string) url.Values {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cb, _ := url.Parse(testRedirect)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if r.URL.Host == cb.Host {
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
	resp, err = c.PostForm(issuer+"/login/username", url.Values{"id": {id}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatalf("post the login form: %v", err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil || loc.Host != cb.Host {
		t.Fatalf("want a redirect to the callback, got %d %v", resp.StatusCode, loc)
	}
	return loc.Query()
}

func newTestOIDC(t *testing.T, issuer, client string, now func() time.Time) *OIDC {
	t.Helper()
	o, err := NewOIDC(OIDCConfig{IssuerURL: issuer, ClientID: client, ClientSecret: webSecret, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func wantUnauthenticated(t *testing.T, err error, contains string) {
	t.Helper()
	if !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), contains) {
		t.Fatalf("want an unauthenticated error containing %q, got %v", contains, err)
	}
}

// TestOIDCSignIn is the whole authorization code flow through the real
// provider's endpoints: Begin, the browser's login, Finish.
func TestOIDCSignIn(t *testing.T) {
	ctx := context.Background()
	issuer, _ := startOP(t)
	o := newTestOIDC(t, issuer, "web", nil)
	authURL, pend, err := o.Begin(ctx, testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	q, _ := url.Parse(authURL)
	if q.Query().Get("code_challenge_method") != "S256" || q.Query().Get("nonce") != pend.Nonce || q.Query().Get("state") != pend.State {
		t.Fatalf("the authorization URL lacks PKCE, nonce or state: %s", authURL)
	}
	// Pending survives a cookie: it must round-trip through JSON.
	b, _ := json.Marshal(pend)
	var back Pending
	if err := json.Unmarshal(b, &back); err != nil || back != pend {
		t.Fatalf("Pending does not round-trip through JSON: %+v vs %+v (%v)", back, pend, err)
	}
	cb := browserSignIn(t, issuer, authURL, "alice", "alice-pw")
	id, err := o.Finish(ctx, back, cb)
	if err != nil {
		t.Fatal(err)
	}
	want := ProviderIdentity{Provider: "oidc", Subject: "id-alice", Email: "alice@example.com", Login: "alice", Name: "Alice Liddell"}
	if id != want {
		t.Fatalf("got %+v, want %+v", id, want)
	}

	t.Run("replayed callback", func(t *testing.T) {
		_, err := o.Finish(ctx, pend, cb)
		wantUnauthenticated(t, err, "state was already used: a replayed callback")
	})

	t.Run("email in the ID token", func(t *testing.T) {
		oc := newTestOIDC(t, issuer, "claims", nil)
		u, p, _ := oc.Begin(ctx, testRedirect)
		id, err := oc.Finish(ctx, p, browserSignIn(t, issuer, u, "alice", "alice-pw"))
		if err != nil || id.Email != "alice@example.com" {
			t.Fatalf("got %+v, %v", id, err)
		}
	})

	t.Run("no email", func(t *testing.T) {
		u, p, _ := o.Begin(ctx, testRedirect)
		id, err := o.Finish(ctx, p, browserSignIn(t, issuer, u, "carol", "carol-pw"))
		if err != nil || id.Email != "" || id.Login != "carol" || id.Subject != "id-carol" {
			t.Fatalf("got %+v, %v", id, err)
		}
	})
}

// TestOIDCRefusals: each way a callback or ID token can be wrong is refused
// with a message that says what was wrong.
func TestOIDCRefusals(t *testing.T) {
	ctx := context.Background()
	issuer, proxy := startOP(t)
	o := newTestOIDC(t, issuer, "web", nil)

	// An ID token the OP really issued, but to client "other".
	other := newTestOIDC(t, issuer, "other", nil)
	u, p, _ := other.Begin(ctx, testRedirect)
	if _, err := other.Finish(ctx, p, browserSignIn(t, issuer, u, "alice", "alice-pw")); err != nil {
		t.Fatal(err)
	}
	otherToken := proxy.lastIDToken()

	cases := []struct {
		name, user, mode string
		prov             *OIDC
		edit             func(p *Pending, cb url.Values)
		want             string
	}{
		{name: "email_verified=false", user: "bob", want: "email_verified is false for bob@example.com"},
		{name: "email_verified=false in the ID token", user: "bob", prov: newTestOIDC(t, issuer, "claims", nil), want: "email_verified is false for bob@example.com"},
		{name: "wrong audience", mode: "swap", want: "the ID token's audience is other, expected web"},
		{name: "expired", prov: newTestOIDC(t, issuer, "web", func() time.Time { return time.Now().Add(2 * time.Hour) }), want: "the ID token expired at"},
		{name: "tampered payload", mode: "payload", want: "signature does not verify"},
		{name: "tampered signature", mode: "signature", want: "signature does not verify"},
		{name: "alg none", mode: "none", want: `signed with alg "none"`},
		{name: "HS256 with the client secret", mode: "hs256", want: `signed with alg "HS256"`},
		{name: "state mismatch", edit: func(p *Pending, cb url.Values) { cb.Set("state", p.State[1:]+"x") },
			want: "state does not match: a replayed or forged callback"},
		{name: "no state", edit: func(_ *Pending, cb url.Values) { cb.Del("state") }, want: "state does not match"},
		{name: "stale sign-in", edit: func(p *Pending, _ url.Values) { p.Created = p.Created.Add(-11 * time.Minute) }, want: "more than 10m0s"},
		{name: "wrong PKCE verifier", edit: func(p *Pending, _ url.Values) { p.Verifier = strings.Repeat("v", 43) }, want: "the issuer refused the authorization code: invalid_grant"},
		{name: "wrong nonce", edit: func(p *Pending, _ url.Values) { p.Nonce = "other-nonce" }, want: "nonce does not match"},
		{name: "another provider's sign-in", edit: func(p *Pending, _ url.Values) { p.Provider = "github" }, want: `started with provider "github"`},
		{name: "provider error", edit: func(_ *Pending, cb url.Values) { cb.Set("error", "access_denied") }, want: "oidc refused the sign-in: access_denied"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prov := o
			if c.prov != nil {
				prov = c.prov
			}
			user := c.user
			if user == "" {
				user = "alice"
			}
			authURL, pend, err := prov.Begin(ctx, testRedirect)
			if err != nil {
				t.Fatal(err)
			}
			cb := browserSignIn(t, issuer, authURL, user, user+"-pw")
			if c.edit != nil {
				c.edit(&pend, cb)
			}
			proxy.set(c.mode, otherToken)
			defer proxy.set("", "")
			id, err := prov.Finish(ctx, pend, cb)
			if err == nil {
				t.Fatalf("signed in as %+v", id)
			}
			wantUnauthenticated(t, err, c.want)
		})
	}
}

func TestNewOIDCConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  OIDCConfig
		want string
	}{
		{OIDCConfig{IssuerURL: "login.example.com", ClientID: "x"}, "not an absolute http(s) URL"},
		{OIDCConfig{IssuerURL: "https://login.example.com"}, "client id is required"},
		{OIDCConfig{IssuerURL: "https://login.example.com", ClientID: "x", Scopes: []string{"email"}}, "must include openid"},
	} {
		if _, err := NewOIDC(c.cfg); !errors.Is(err, errs.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: want %q, got %v", c.cfg, c.want, err)
		}
	}
}

// TestOIDCIssuerDown: an issuer that cannot be reached makes Begin fail as
// unavailable (not as a refused sign-in) without asking again for a minute;
// then Begin tries again and works once the issuer is up.
func TestOIDCIssuerDown(t *testing.T) {
	var hits atomic.Int32
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer down.Close()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	o := newTestOIDC(t, down.URL, "web", func() time.Time { return time.Unix(0, now.Load()) })
	for range 3 {
		if _, _, err := o.Begin(context.Background(), testRedirect); !errors.Is(err, errs.ErrUnavailable) || !strings.Contains(err.Error(), "discovery document") {
			t.Fatalf("want unavailable naming the discovery document, got %v", err)
		}
	}
	if hits.Load() != 1 {
		t.Fatalf("%d discovery attempts within a minute, want 1", hits.Load())
	}
	// The issuer is up (here: at another address) a while later.
	issuer, _ := startOP(t)
	o.cfg.IssuerURL = issuer
	now.Add(int64(2 * time.Minute))
	if _, _, err := o.Begin(context.Background(), testRedirect); err != nil {
		t.Fatalf("after the pause discovery is tried again: %v", err)
	}
}

// TestOIDCSignInResolves: the identity the real provider vouched for
// resolves to the catalog's User and its groups.
func TestOIDCSignInResolves(t *testing.T) {
	ctx := context.Background()
	issuer, _ := startOP(t)
	o := newTestOIDC(t, issuer, "web", nil)
	u, p, err := o.Begin(ctx, testRedirect)
	if err != nil {
		t.Fatal(err)
	}
	id, err := o.Finish(ctx, p, browserSignIn(t, issuer, u, "alice", "alice-pw"))
	if err != nil {
		t.Fatal(err)
	}
	r := mustResolver(t, catalogStore(t, resolverCatalog), ResolverConfig{})
	user, err := r.Resolve(ctx, id)
	if err != nil || user.Ref != "user:default/alice" || len(user.Ent) != 4 {
		t.Fatalf("got %+v, %v", user, err)
	}
}
