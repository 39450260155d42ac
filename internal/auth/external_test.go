package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riggerdev/rigger/internal/errs"
)

// ciIssuer is a GitHub Actions-like OIDC issuer on 127.0.0.1: discovery
// document, JWKS, and tokens signed with its RSA key.
type ciIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newCIIssuer(t *testing.T) *ciIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ci := &ciIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": ci.srv.URL, "jwks_uri": ci.srv.URL + "/keys"})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "ci-1", Algorithm: "RS256", Use: "sig"}}})
	})
	ci.srv = httptest.NewServer(mux)
	t.Cleanup(ci.srv.Close)
	return ci
}

func (ci *ciIssuer) token(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "ci-1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (ci *ciIssuer) claims(now time.Time, mod func(m map[string]any)) map[string]any {
	m := map[string]any{"iss": ci.srv.URL, "aud": "rigger-ci", "sub": "repo:acme/app:ref:refs/heads/main",
		"repository": "acme/app", "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "jti": "run-1"}
	if mod != nil {
		mod(m)
	}
	return m
}

func TestExternalJWT(t *testing.T) {
	ctx := context.Background()
	ci := newCIIssuer(t)
	now := time.Now()
	ext, err := NewExternal([]ExternalIssuer{{Issuer: ci.srv.URL, Audience: "rigger-ci", SubjectPrefix: "repo:acme/app:",
		Scopes: []string{"scaffolder.run"}, Claims: map[string]string{"repository": "acme/app"}}}, ci.srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := ext.Verify(ctx, ci.token(t, ci.key, ci.claims(now, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if id.Ref != "service:external/repo:acme/app:ref:refs/heads/main" || !id.Service || id.Scopes[0] != "scaffolder.run" || id.Via != "external-jwt" {
		t.Fatalf("identity %+v", id)
	}
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		name, tok, want string
	}{
		{"wrong subject prefix", ci.token(t, ci.key, ci.claims(now, func(m map[string]any) { m["sub"] = "repo:evil/app:ref:refs/heads/main" })), `does not start with "repo:acme/app:"`},
		{"wrong audience", ci.token(t, ci.key, ci.claims(now, func(m map[string]any) { m["aud"] = "someone-else" })), `does not include "rigger-ci"`},
		{"claim mismatch", ci.token(t, ci.key, ci.claims(now, func(m map[string]any) { m["repository"] = "acme/other" })), "claim repository"},
		{"claim missing", ci.token(t, ci.key, ci.claims(now, func(m map[string]any) { delete(m, "repository") })), "claim repository"},
		{"expired", ci.token(t, ci.key, ci.claims(now, func(m map[string]any) { m["exp"] = now.Add(-time.Hour).Unix() })), "expired"},
		{"wrong key", ci.token(t, otherKey, ci.claims(now, nil)), "signature does not verify"},
		{"untrusted issuer", ci.token(t, ci.key, ci.claims(now, func(m map[string]any) { m["iss"] = "https://other.example.com" })), "not in auth.externalAccess"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ext.Verify(ctx, tc.tok)
			if !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v; want unauthenticated mentioning %q", err, tc.want)
			}
		})
	}
	if _, err := NewExternal([]ExternalIssuer{{Issuer: ci.srv.URL, Audience: "a", Scopes: []string{"*"}}}, ci.srv.Client(), nil); err == nil || !strings.Contains(err.Error(), "subjectPrefix") {
		t.Fatalf("issuer without subjectPrefix: %v", err)
	}
}

// TestChainRoutesByShape drives every kind of bearer through one Chain.
func TestChainRoutesByShape(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := testDB(t, filepath.Join(t.TempDir(), "r.db"))
	iss := newTestIssuer(t, st, c)
	stored := NewStoredTokens(st, nil, nil, c.Now)
	ci := newCIIssuer(t)
	ext, err := NewExternal([]ExternalIssuer{{Issuer: ci.srv.URL, Audience: "rigger-ci", SubjectPrefix: "repo:acme/", Scopes: []string{"catalog.read"}}}, ci.srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfgTok := strings.Repeat("k", 40)
	chain := Chain{Issuer: iss, Stored: stored, External: ext, Config: NewServiceTokens([]ServiceToken{{Name: "legacy", Token: cfgTok, Scopes: []string{"*"}}})}

	access, _, err := iss.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	rgr, _, err := stored.Create(ctx, TokenSpec{Name: "ci", Scopes: []string{"catalog.read"}}, "user:default/admin")
	if err != nil {
		t.Fatal(err)
	}
	external := ci.token(t, ci.key, ci.claims(time.Now(), nil))
	for tok, want := range map[string]string{access: "rigger-token", rgr: "service-token", external: "external-jwt", cfgTok: "service-token"} {
		id, err := chain.Authenticate(bearerRequest(tok))
		if err != nil || id.Via != want {
			t.Errorf("%s token: %+v %v", want, id, err)
		}
	}
	foreign := ci.token(t, ci.key, ci.claims(time.Now(), func(m map[string]any) { m["iss"] = "https://elsewhere.example.com" }))
	for tok, want := range map[string]string{
		foreign:                       "trusted neither",
		ServiceTokenPrefix + "forged": "unknown service token",
		"rgs_refresh":                 "not an access token",
		"wrong-config-token":          "invalid bearer token",
		strings.Repeat("a", 40<<10):   "at most 32768",
	} {
		if _, err := chain.Authenticate(bearerRequest(tok)); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), want) {
			t.Errorf("%.20s...: %v, want %q", tok, err, want)
		}
	}
	r, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/api/x", nil)
	if _, err := chain.Authenticate(r); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Errorf("no header: %v", err)
	}
}

// FuzzExternalVerify: whatever the bearer, External.Verify refuses with
// an unauthenticated (or unavailable) error or returns an identity that
// satisfies the configured subject prefix and claims.
func FuzzExternalVerify(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	ci := &ciIssuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/keys", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "ci-1", Algorithm: "RS256", Use: "sig"}}})
	})
	ci.srv = httptest.NewServer(mux)
	f.Cleanup(ci.srv.Close)
	ext, err := NewExternal([]ExternalIssuer{{Issuer: ci.srv.URL, JWKSURL: ci.srv.URL + "/keys", Audience: "rigger-ci", SubjectPrefix: "repo:acme/app:",
		Scopes: []string{"catalog.read"}, Claims: map[string]string{"repository": "acme/app"}}}, ci.srv.Client(), nil)
	if err != nil {
		f.Fatal(err)
	}
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, (&jose.SignerOptions{}).WithHeader("kid", "ci-1"))
	good, _ := jwt.Signed(s).Claims(ci.claims(time.Now(), nil)).Serialize()
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := ext.Verify(context.Background(), tok)
		if err != nil {
			if !errors.Is(err, errs.ErrUnauthenticated) && !errors.Is(err, errs.ErrUnavailable) {
				t.Fatalf("error %v is neither unauthenticated nor unavailable", err)
			}
			return
		}
		if !strings.HasPrefix(id.Ref, "service:external/repo:acme/app:") || id.Via != "external-jwt" {
			t.Fatalf("accepted %q as %+v", tok, id)
		}
	})
}
