package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth/oidctest"
	"github.com/riggerdev/rigger/internal/errs"
)

// The OpenID provider of these tests is a real one (oidctest: zitadel's
// pkg/op on 127.0.0.1 with its own keys). Only its tampering proxy alters
// what it answers, for the cases a real provider never produces.

const testRedirect = "http://127.0.0.1:9/api/auth/oidc/callback" // never contacted

// startOP starts the OpenID provider and returns its issuer URL and the
// tampering proxy in front of it.
func startOP(t *testing.T) (string, *oidctest.TamperingProxy) {
	t.Helper()
	op := oidctest.Start(t, testRedirect)
	return op.Issuer, op.Proxy
}

// browserSignIn plays the browser: it opens authURL, signs user in at the
// provider and returns the query of the redirect back to the callback.
func browserSignIn(t *testing.T, issuer, authURL, user, password string) url.Values {
	t.Helper()
	cb := (&oidctest.OP{Issuer: issuer}).SignIn(t, authURL, user, password)
	if cb.Host != "127.0.0.1:9" {
		t.Fatalf("the provider redirected to %s, not the callback", cb)
	}
	return cb.Query()
}

func newTestOIDC(t *testing.T, issuer, client string, now func() time.Time) *OIDC {
	t.Helper()
	o, err := NewOIDC(OIDCConfig{IssuerURL: issuer, ClientID: client, ClientSecret: oidctest.ClientSecret, Now: now})
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
	otherToken := proxy.LastIDToken()

	cases := []struct {
		name, user string
		mode       oidctest.Tamper
		prov       *OIDC
		edit       func(p *Pending, cb url.Values)
		want       string
	}{
		{name: "email_verified=false", user: "bob", want: "email_verified is false for bob@example.com"},
		{name: "email_verified=false in the ID token", user: "bob", prov: newTestOIDC(t, issuer, "claims", nil), want: "email_verified is false for bob@example.com"},
		{name: "wrong audience", mode: oidctest.Swap, want: "the ID token's audience is other, expected web"},
		{name: "expired", prov: newTestOIDC(t, issuer, "web", func() time.Time { return time.Now().Add(2 * time.Hour) }), want: "the ID token expired at"},
		{name: "tampered payload", mode: oidctest.Payload, want: "signature does not verify"},
		{name: "tampered signature", mode: oidctest.Signature, want: "signature does not verify"},
		{name: "alg none", mode: oidctest.AlgNone, want: `signed with alg "none"`},
		{name: "HS256 with the client secret", mode: oidctest.HS256, want: `signed with alg "HS256"`},
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
			proxy.Set(c.mode, otherToken)
			defer proxy.Set(oidctest.Honest, "")
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
