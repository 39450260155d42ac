package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riggerdev/rigger/internal/errs"
)

// The assertions of these tests are signed by keys made here and served at
// key URLs by httptest servers laid out like AWS's, Google's and
// Cloudflare's key endpoints.

const (
	testALBARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/rigger/0123456789abcdef"
	testKid    = "5c9f4b5e-0a1b-4c2d-8e3f-123456789abc"
)

func mustECKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// albKeyServer serves PEM public keys at /<kid>, as
// public-keys.auth.elb.<region>.amazonaws.com does; it counts requests.
func albKeyServer(t testing.TB, keys map[string]*ecdsa.PublicKey) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		k := keys[strings.TrimPrefix(r.URL.Path, "/")]
		if k == nil {
			http.NotFound(w, r)
			return
		}
		der, _ := x509.MarshalPKIXPublicKey(k)
		_ = pem.Encode(w, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// albToken builds an x-amzn-oidc-data value the way an ALB does: segments
// base64url encoded with padding, ES256 signature r||s.
func albToken(t testing.TB, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	enc := base64.URLEncoding // with padding, like ALB
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	if key == nil {
		return signed + "."
	}
	d := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig)
}

func albHeader(exp time.Time) map[string]any {
	return map[string]any{"alg": "ES256", "kid": testKid, "signer": testALBARN, "iss": "https://login.example.com",
		"client": "rigger", "exp": exp.Unix()}
}

func albClaims(exp time.Time) map[string]any {
	return map[string]any{"sub": "abc-123", "email": "alice@example.com", "email_verified": "true",
		"preferred_username": "alice", "name": "Alice", "exp": exp.Unix(), "iss": "https://login.example.com"}
}

func TestALB(t *testing.T) {
	ctx := context.Background()
	key, other := mustECKey(t), mustECKey(t)
	srv, hits := albKeyServer(t, map[string]*ecdsa.PublicKey{testKid: &key.PublicKey})
	alb, err := NewALB(ALBConfig{Region: "eu-west-1", Signer: testALBARN, KeyURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(2 * time.Minute)
	valid := albToken(t, key, albHeader(exp), albClaims(exp))
	if !strings.Contains(valid, "=") {
		t.Fatal("the test token should carry base64 padding like ALB's")
	}
	r := httptest.NewRequest("GET", "/api/catalog/entities", nil)
	r.Header.Set("x-amzn-oidc-data", valid)
	id, err := alb.Identify(r)
	want := ProviderIdentity{Provider: "awsAlb", Subject: "abc-123", Email: "alice@example.com", Login: "alice", Name: "Alice"}
	if err != nil || id != want {
		t.Fatalf("got %+v, %v; want %+v", id, err, want)
	}
	if _, err := alb.Verify(ctx, valid); err != nil || hits.Load() != 1 {
		t.Fatalf("the second verification must use the cached key: %v, %d fetches", err, hits.Load())
	}

	unverified := albClaims(exp)
	delete(unverified, "email_verified")
	if id, err := alb.Verify(ctx, albToken(t, key, albHeader(exp), unverified)); err != nil || id.Email != "" {
		t.Fatalf("an email without email_verified must not be used: %+v, %v", id, err)
	}

	hdr := func(edit func(h map[string]any)) map[string]any {
		h := albHeader(exp)
		edit(h)
		return h
	}
	past := time.Now().Add(-time.Hour)
	for _, c := range []struct{ name, token, want string }{
		{"no header", "", "no X-Amzn-Oidc-Data header"},
		{"unsigned", albToken(t, nil, hdr(func(h map[string]any) { h["alg"] = "none" }), albClaims(exp)), `signed with alg "none"`},
		{"unsigned with ES256 header", albToken(t, nil, albHeader(exp), albClaims(exp)), "not a 64-byte ES256 signature"},
		{"wrong key", albToken(t, other, albHeader(exp), albClaims(exp)), "signature does not verify against key " + testKid},
		{"expired", albToken(t, key, albHeader(past), albClaims(past)), "the assertion expired at"},
		{"expired claims, fresh header", albToken(t, key, albHeader(exp), albClaims(past)), "the assertion expired at"},
		{"wrong signer", albToken(t, key, hdr(func(h map[string]any) {
			h["signer"] = strings.Replace(testALBARN, "rigger", "evil", 1)
		}), albClaims(exp)), "signed by \"arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/evil/0123456789abcdef\", expected"},
		{"unknown kid", albToken(t, key, hdr(func(h map[string]any) { h["kid"] = "no-such-key" }), albClaims(exp)), "serves no key no-such-key"},
		{"kid with a path", albToken(t, key, hdr(func(h map[string]any) { h["kid"] = "../etc/passwd" }), albClaims(exp)), "is not a key id"},
		{"payload swapped", strings.Join([]string{strings.Split(valid, ".")[0],
			base64.URLEncoding.EncodeToString([]byte(`{"sub":"admin","exp":9999999999}`)), strings.Split(valid, ".")[2]}, "."), "signature does not verify"},
		{"oversized", valid + strings.Repeat("A", MaxTokenBytes), "more than 32768"},
		{"two segments", "abc.def", "not a signed JWT"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := alb.Verify(ctx, c.token)
			if err == nil {
				t.Fatalf("accepted as %+v", id)
			}
			wantUnauthenticated(t, err, c.want)
		})
	}

	t.Run("unsigned identity headers are ignored", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("x-amzn-oidc-identity", "admin")
		r.Header.Set("x-amzn-oidc-accesstoken", "x")
		_, err := alb.Identify(r)
		wantUnauthenticated(t, err, "no X-Amzn-Oidc-Data header")
	})
}

func TestNewProxyConfig(t *testing.T) {
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"alb region", func() error { _, err := NewALB(ALBConfig{Region: "mars", Signer: testALBARN}); return err }, "not an AWS region"},
		{"alb signer", func() error { _, err := NewALB(ALBConfig{Region: "eu-west-1", Signer: "rigger"}); return err }, "is not the ARN"},
		{"iap audience", func() error { _, err := NewIAP(IAPConfig{Audience: "rigger"}); return err }, "/projects/<number>/global/backendServices/<id>"},
		{"cloudflare team", func() error {
			_, err := NewCloudflare(CloudflareConfig{TeamDomain: "acme.example.com", Audience: strings.Repeat("a", 64)})
			return err
		}, "is not <team>.cloudflareaccess.com"},
		{"cloudflare aud", func() error {
			_, err := NewCloudflare(CloudflareConfig{TeamDomain: "acme.cloudflareaccess.com", Audience: "x"})
			return err
		}, "AUD tag"},
	} {
		if err := c.err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want %q, got %v", c.name, c.want, err)
		}
	}
}

// jwksServer serves a JWK set at path, plus extra members the way
// Cloudflare's certs endpoint does.
func jwksServer(t testing.TB, path string, keys ...jose.JSONWebKey) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys, "public_cert": map[string]string{"kid": "x", "cert": "-"}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func signJWT(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims ...any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	b := jwt.Signed(s)
	for _, c := range claims {
		b = b.Claims(c)
	}
	out, err := b.Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func unsignedJWT(claims any) string {
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

// assertionCases are the refusals every standard-JWT proxy must make.
func assertionCases(t *testing.T, p *Assertion, header string, key, other any, alg jose.SignatureAlgorithm, kid, iss, aud string) {
	ctx := context.Background()
	claims := func(iss, aud string, exp time.Time) jwt.Claims {
		return jwt.Claims{Issuer: iss, Subject: "user-1", Audience: jwt.Audience{aud}, Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(time.Now())}
	}
	ok := claims(iss, aud, time.Now().Add(5*time.Minute))
	email := map[string]any{"email": "alice@example.com"}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set(header, signJWT(t, key, alg, kid, ok, email))
	id, err := p.Identify(r)
	if err != nil || id.Subject != "user-1" || id.Email != "alice@example.com" || id.Provider != p.Name() {
		t.Fatalf("a valid assertion: got %+v, %v", id, err)
	}
	hmacKey := []byte(strings.Repeat("k", 32))
	for _, c := range []struct{ name, token, want string }{
		{"no header", "", "no " + header + " header"},
		{"unsigned", unsignedJWT(ok), `signed with alg "none"`},
		{"HS256", signJWT(t, hmacKey, jose.HS256, kid, ok), `signed with alg "HS256"`},
		{"wrong key", signJWT(t, other, alg, kid, ok), "signature does not verify against key"},
		{"unknown kid", signJWT(t, key, alg, "other-kid", ok), `has no key "other-kid"`},
		{"expired", signJWT(t, key, alg, kid, claims(iss, aud, time.Now().Add(-time.Hour))), "the assertion expired at"},
		{"wrong audience", signJWT(t, key, alg, kid, claims(iss, "other-aud", time.Now().Add(time.Minute))), "the assertion's audience is other-aud, expected " + aud},
		{"wrong issuer", signJWT(t, key, alg, kid, claims("https://evil.example.com", aud, time.Now().Add(time.Minute))), `the assertion's issuer is "https://evil.example.com"`},
		{"no exp", signJWT(t, key, alg, kid, jwt.Claims{Issuer: iss, Subject: "u", Audience: jwt.Audience{aud}}), "has no exp"},
		{"oversized", signJWT(t, key, alg, kid, ok, map[string]any{"pad": strings.Repeat("x", MaxTokenBytes)}), "more than 32768"},
		{"garbage", "a.b.c", "malformed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, err := p.Verify(ctx, c.token)
			if err == nil {
				t.Fatalf("accepted as %+v", id)
			}
			wantUnauthenticated(t, err, c.want)
		})
	}
}

func TestIAP(t *testing.T) {
	key, other := mustECKey(t), mustECKey(t)
	srv := jwksServer(t, "/iap/verify/public_key-jwk", jose.JSONWebKey{Key: &key.PublicKey, KeyID: "iap-1", Algorithm: "ES256", Use: "sig"})
	aud := "/projects/123456/global/backendServices/987654"
	p, err := NewIAP(IAPConfig{Audience: aud, KeyURL: srv.URL + "/iap/verify/public_key-jwk"})
	if err != nil {
		t.Fatal(err)
	}
	assertionCases(t, p, IAPHeader, key, other, jose.ES256, "iap-1", "https://cloud.google.com/iap", aud)
}

func TestCloudflareAccess(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv := jwksServer(t, "/cdn-cgi/access/certs", jose.JSONWebKey{Key: &key.PublicKey, KeyID: "cf-1", Algorithm: "RS256", Use: "sig"})
	aud := strings.Repeat("0a", 32)
	p, err := NewCloudflare(CloudflareConfig{TeamDomain: "https://acme.cloudflareaccess.com", Audience: aud, KeyURL: srv.URL + "/cdn-cgi/access/certs"})
	if err != nil {
		t.Fatal(err)
	}
	assertionCases(t, p, CloudflareHeader, key, other, jose.RS256, "cf-1", "https://acme.cloudflareaccess.com", aud)
}

// TestKeyFetchBounded: a key URL that answers with too much is refused, not
// read into memory.
func TestKeyFetchBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[{"kty":"` + strings.Repeat("x", 2*maxKeyBytes) + `"}]}`))
	}))
	defer srv.Close()
	key := mustECKey(t)
	p, err := NewIAP(IAPConfig{Audience: "/projects/1/global/backendServices/2", KeyURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	tok := signJWT(t, key, jose.ES256, "k", jwt.Claims{Issuer: "https://cloud.google.com/iap", Subject: "u"})
	if _, err := p.Verify(context.Background(), tok); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Fatalf("want the key fetch refused for its size, got %v", err)
	}
}

// FuzzALBAssertion: whatever the header holds, verification answers with an
// identity or an error, never a panic, and accepts nothing but the signed
// seed's identity.
func FuzzALBAssertion(f *testing.F) {
	key := mustECKey(f)
	srv, _ := albKeyServer(f, map[string]*ecdsa.PublicKey{testKid: &key.PublicKey})
	alb, err := NewALB(ALBConfig{Region: "eu-west-1", Signer: testALBARN, KeyURL: srv.URL})
	if err != nil {
		f.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	f.Add(albToken(f, key, albHeader(exp), albClaims(exp)))
	f.Add(albToken(f, nil, albHeader(exp), albClaims(exp)))
	f.Add("e30=.e30=.")
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := alb.Verify(context.Background(), raw)
		if err == nil && id.Subject != "abc-123" {
			t.Fatalf("accepted %q as %+v", raw, id)
		}
	})
}

// FuzzJWTAssertion does the same for the standard-JWT proxies (IAP here).
func FuzzJWTAssertion(f *testing.F) {
	key := mustECKey(f)
	srv := jwksServer(f, "/k", jose.JSONWebKey{Key: &key.PublicKey, KeyID: "iap-1", Algorithm: "ES256", Use: "sig"})
	aud := "/projects/1/global/backendServices/2"
	p, err := NewIAP(IAPConfig{Audience: aud, KeyURL: srv.URL + "/k"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signJWT(f, key, jose.ES256, "iap-1", jwt.Claims{Issuer: "https://cloud.google.com/iap", Subject: "u", Audience: jwt.Audience{aud},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}))
	f.Add(unsignedJWT(map[string]any{"sub": "u"}))
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		id, err := p.Verify(context.Background(), raw)
		if err == nil && id.Subject != "u" {
			t.Fatalf("accepted %q as %+v", raw, id)
		}
	})
}

// TestAssertionKeysRefreshed: a key the proxy withdrew from its JWK set is
// no longer trusted once the set is read again (after an hour), and a new
// kid is fetched at most once a minute.
func TestAssertionKeysRefreshed(t *testing.T) {
	ctx := context.Background()
	key := mustECKey(t)
	var withdrawn, broken atomic.Bool
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if broken.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		keys := []jose.JSONWebKey{}
		if !withdrawn.Load() {
			keys = append(keys, jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys})
	}))
	defer srv.Close()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	aud := "/projects/1/global/backendServices/2"
	p, err := NewIAP(IAPConfig{Audience: aud, KeyURL: srv.URL, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	token := func(kid string) string {
		return signJWT(t, key, jose.ES256, kid, jwt.Claims{Issuer: "https://cloud.google.com/iap", Subject: "u", Audience: jwt.Audience{aud},
			Expiry: jwt.NewNumericDate(clock().Add(5 * time.Minute))})
	}
	if _, err := p.Verify(ctx, token("k1")); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := p.Verify(ctx, token("unknown"))
		wantUnauthenticated(t, err, `has no key "unknown"`)
	}
	if hits.Load() != 1 {
		t.Fatalf("%d key fetches within a minute, want 1", hits.Load())
	}
	withdrawn.Store(true)
	if _, err := p.Verify(ctx, token("k1")); err != nil {
		t.Fatalf("within the hour the fetched set is used: %v", err)
	}
	// The key URL fails after the hour: the stale set is used, and the
	// URL is not asked again for a minute.
	broken.Store(true)
	now.Add(int64(61 * time.Minute))
	before := hits.Load()
	for range 3 {
		if _, err := p.Verify(ctx, token("k1")); err != nil {
			t.Fatalf("a stale key while the key URL fails: %v", err)
		}
	}
	if _, err := p.Verify(ctx, token("k2")); !errors.Is(err, errs.ErrUnavailable) {
		t.Fatalf("an unknown kid while the key URL fails: want unavailable, got %v", err)
	}
	if n := hits.Load() - before; n != 1 {
		t.Fatalf("%d fetches while failing, want 1", n)
	}
	// It answers again: the withdrawn key is refused.
	broken.Store(false)
	now.Add(int64(2 * time.Minute))
	_, err = p.Verify(ctx, token("k1"))
	wantUnauthenticated(t, err, `has no key "k1"`)
}

// TestALBKeyURLFailing: a failing key URL makes verification unavailable
// (not a refused sign-in) and is not asked again for a minute; cached keys
// keep working.
func TestALBKeyURLFailing(t *testing.T) {
	ctx := context.Background()
	key := mustECKey(t)
	var broken atomic.Bool
	var hits atomic.Int32
	good, _ := albKeyServer(t, map[string]*ecdsa.PublicKey{testKid: &key.PublicKey, "kid-2": &key.PublicKey})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if broken.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		resp, err := http.Get(good.URL + r.URL.Path)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer srv.Close()
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	alb, err := NewALB(ALBConfig{Region: "eu-west-1", Signer: testALBARN, KeyURL: srv.URL, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	exp := clock().Add(time.Hour)
	token := func(kid string) string {
		h := albHeader(exp)
		h["kid"] = kid
		return albToken(t, key, h, albClaims(exp))
	}
	if _, err := alb.Verify(ctx, token(testKid)); err != nil {
		t.Fatal(err)
	}
	broken.Store(true)
	for range 3 {
		if _, err := alb.Verify(ctx, token("kid-2")); !errors.Is(err, errs.ErrUnavailable) {
			t.Fatalf("want unavailable, got %v", err)
		}
		if _, err := alb.Verify(ctx, token(testKid)); err != nil {
			t.Fatalf("a cached key while the key URL fails: %v", err)
		}
	}
	if hits.Load() != 2 {
		t.Fatalf("%d fetches, want 2 (one good, one failed)", hits.Load())
	}
	broken.Store(false)
	now.Add(int64(2 * time.Minute))
	if _, err := alb.Verify(ctx, token("kid-2")); err != nil {
		t.Fatalf("after the pause the key URL is asked again: %v", err)
	}
}
