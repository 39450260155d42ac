package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

const testIssuerURL = "https://rigger.example.com"

// clock is a settable time for the token code under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testDB opens a SQLite store at path for the rest of the test.
func testDB(t testing.TB, path string) *store.SQL {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var testDataKey = []byte("0123456789abcdef0123456789abcdef")

func newTestIssuer(t testing.TB, st KeyStore, c *clock) *Issuer {
	t.Helper()
	i, err := NewIssuer(context.Background(), IssuerOptions{Store: st, DataKey: testDataKey, URL: testIssuerURL, Now: c.Now, ReloadEvery: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

var alice = Identity{Ref: "user:default/alice", Ent: []string{"user:default/alice", "group:default/team-a"}}

func TestIssuerRoundTrip(t *testing.T) {
	c := newClock()
	i := newTestIssuer(t, testDB(t, filepath.Join(t.TempDir(), "r.db")), c)
	tok, exp, err := i.Issue(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(c.Now().Add(DefaultTokenTTL)) {
		t.Fatalf("expiry %v, want 15 minutes from now", exp)
	}
	id, err := i.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if id.Ref != alice.Ref || !slices.Equal(id.Ent, alice.Ent) || id.Service || id.Via != "rigger-token" || id.TokenID == "" {
		t.Fatalf("verified identity %+v", id)
	}
	// The claims are the documented ones.
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"iss", "aud", "sub", "ent", "iat", "exp", "jti"} {
		if _, ok := claims[k]; !ok {
			t.Errorf("claim %s missing: %v", k, claims)
		}
	}
	if parsed.Headers[0].KeyID == "" || parsed.Headers[0].Algorithm != "ES256" {
		t.Errorf("header %+v", parsed.Headers[0])
	}
	// JWKS publishes the key the token names, public part only.
	raw, err := i.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].KeyID != parsed.Headers[0].KeyID || !set.Keys[0].IsPublic() {
		t.Fatalf("jwks = %s", raw)
	}
	if strings.Contains(string(raw), `"d"`) {
		t.Fatalf("jwks holds a private key: %s", raw)
	}
	if _, _, err := i.IssueTTL(context.Background(), alice, 2*time.Hour); err == nil {
		t.Fatal("a 2h token was issued; the limit is 1h")
	}
	if _, err := NewIssuer(context.Background(), IssuerOptions{Store: testDB(t, filepath.Join(t.TempDir(), "x.db")), DataKey: testDataKey, URL: testIssuerURL, TTL: 61 * time.Minute}); err == nil {
		t.Fatal("an issuer with a 61m TTL was accepted")
	}
}

func TestIssuerRotation(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	st := testDB(t, filepath.Join(t.TempDir(), "r.db"))
	i := newTestIssuer(t, st, c)
	c.Add(DefaultKeyRotation - time.Minute)
	old, _, err := i.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Minute) // the first key stopped signing
	fresh, _, err := i.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, old) == kidOf(t, fresh) {
		t.Fatal("no new key signed after the rotation period")
	}
	if _, err := i.Verify(ctx, old); err != nil {
		t.Fatalf("a token of the previous key no longer verifies: %v", err)
	}
	if n := jwksLen(t, i); n != 2 {
		t.Fatalf("jwks has %d keys during rotation, want 2", n)
	}
	// After every token of the old key expired, the key is gone.
	c.Add(MaxTokenTTL + time.Minute)
	if n := jwksLen(t, i); n != 1 {
		t.Fatalf("jwks has %d keys after the old key expired, want 1", n)
	}
	if _, err := i.Verify(ctx, old); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("a token of an expired key: %v, want unauthenticated", err)
	}
	if _, err := i.Verify(ctx, fresh); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("token past its exp: %v", err)
	}
	// The next rotation deletes the expired key's row.
	c.Add(DefaultKeyRotation)
	if _, _, err := i.Issue(ctx, alice); err != nil {
		t.Fatal(err)
	}
	keys, err := st.SigningKeys(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(keys, func(k store.SigningKey) bool { return k.KID == kidOf(t, old) }) {
		t.Fatal("the expired first key is still stored")
	}
}

func TestIssuersOnOneDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "r.db")
	c := newClock()
	a := newTestIssuer(t, testDB(t, path), c)
	b := newTestIssuer(t, testDB(t, path), c)
	tok, _, err := a.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, tok); err != nil {
		t.Fatalf("replica b refuses replica a's token: %v", err)
	}
	// a rotates; b learns the new key from the database on first sight.
	c.Add(DefaultKeyRotation + time.Second)
	tok2, _, err := a.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Verify(ctx, tok2); err != nil {
		t.Fatalf("replica b refuses a's token of a key made after b loaded: %v", err)
	}
	// b, rotating too, signs with a's new key instead of adding one.
	tok3, _, err := b.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if kidOf(t, tok3) != kidOf(t, tok2) {
		t.Fatal("replica b made its own key right after a rotated")
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	p, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return p.Headers[0].KeyID
}

func jwksLen(t *testing.T, i *Issuer) int {
	t.Helper()
	raw, err := i.JWKS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	return len(set.Keys)
}

// b64 is base64url without padding, as JWTs use.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func TestVerifyRefusesForgeries(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	i := newTestIssuer(t, testDB(t, filepath.Join(t.TempDir(), "r.db")), c)
	good, _, err := i.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	kid := kidOf(t, good)
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])

	claims := func(mod func(m map[string]any)) map[string]any {
		var m map[string]any
		_ = json.Unmarshal(payload, &m)
		if mod != nil {
			mod(m)
		}
		return m
	}
	// signWith signs claims with a key of ours (not the issuer's).
	signWith := func(alg jose.SignatureAlgorithm, key any, m map[string]any) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(m).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	raw, _ := i.JWKS(ctx)
	_ = json.Unmarshal(raw, &set)
	hmacSecret := sha256.Sum256(set.Keys[0]) // HS256 needs >= 32 bytes; the JWK's digest stands in for "the public key as secret"

	elevated := claims(func(m map[string]any) { m["sub"] = "user:default/admin" })
	elevatedJSON, _ := json.Marshal(elevated)
	header := func(h map[string]any) string { b, _ := json.Marshal(h); return b64(b) }

	cases := []struct {
		name, tok, want string
	}{
		{"tampered payload", parts[0] + "." + b64(elevatedJSON) + "." + parts[2], "signature does not verify"},
		{"tampered signature", parts[0] + "." + parts[1] + "." + b64([]byte(strings.Repeat("x", 64))), "signature does not verify"},
		{"alg none", header(map[string]any{"alg": "none", "kid": kid, "typ": "JWT"}) + "." + b64(elevatedJSON) + ".", "ES256"},
		{"HS256 with the public key", signWith(jose.HS256, hmacSecret[:], elevated), "ES256"},
		{"HS256 with the raw JWK", header(map[string]any{"alg": "HS256", "kid": kid}) + "." + b64(elevatedJSON) + "." + b64([]byte("sig")), "ES256"},
		{"another key, same kid", signWith(jose.ES256, otherKey, elevated), "signature does not verify"},
		{"unknown kid", func() string {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: otherKey}, (&jose.SignerOptions{}).WithHeader("kid", "nope"))
			tok, _ := jwt.Signed(s).Claims(elevated).Serialize()
			return tok
		}(), `unknown key "nope"`},
		{"no kid", func() string {
			s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: otherKey}, nil)
			tok, _ := jwt.Signed(s).Claims(elevated).Serialize()
			return tok
		}(), "no signing key (kid)"},
		{"oversized", good + strings.Repeat("A", MaxTokenBytes), "at most 32768"},
		{"garbage", "not-a-jwt", "only ES256-signed JWTs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := i.Verify(ctx, tc.tok)
			if !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v; want unauthenticated mentioning %q", err, tc.want)
			}
		})
	}
	// Claims checked after the signature: the issuer's own key signing
	// wrong claims (as a bug or a confused replica would).
	signed := func(mod func(m map[string]any)) string {
		k := i.keys[kid]
		return signWith(jose.ES256, k.priv, claims(mod))
	}
	claimCases := []struct {
		name, tok, want string
	}{
		{"wrong audience", signed(func(m map[string]any) { m["aud"] = []string{"someone-else"} }), `does not include "rigger"`},
		{"wrong issuer", signed(func(m map[string]any) { m["iss"] = "https://evil.example.com" }), "is not this server"},
		{"no expiry", signed(func(m map[string]any) { delete(m, "exp") }), "no expiry"},
		{"no subject", signed(func(m map[string]any) { delete(m, "sub") }), "no subject"},
	}
	for _, tc := range claimCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := i.Verify(ctx, tc.tok)
			if !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Verify = %v; want unauthenticated mentioning %q", err, tc.want)
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		c.Add(DefaultTokenTTL + time.Minute)
		_, err := i.Verify(ctx, good)
		if !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired at") {
			t.Fatalf("Verify = %v; want expired", err)
		}
	})
}

func FuzzVerify(f *testing.F) {
	c := newClock()
	i := newTestIssuer(f, testDB(f, filepath.Join(f.TempDir(), "r.db")), c)
	good, _, err := i.Issue(context.Background(), alice)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		id, err := i.Verify(context.Background(), tok)
		if err == nil {
			// Only the issuer's own token verifies (an encoding variant of
			// it at most): any other identity accepted is a forgery.
			if id.Ref != alice.Ref || !slices.Equal(id.Ent, alice.Ent) {
				t.Fatalf("a forged token verified: %q -> %+v", tok, id)
			}
			return
		}
		if !errors.Is(err, errs.ErrUnauthenticated) && !errors.Is(err, errs.ErrUnavailable) {
			t.Fatalf("Verify error %v does not unwrap to unauthenticated", err)
		}
	})
}

// TestIssuerWithAnotherDataKey: a replica whose scaffolder.secretKey
// differs cannot open the signing key, says so, and adds none of its own
// (which the others could not use either).
func TestIssuerWithAnotherDataKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	c := newClock()
	newTestIssuer(t, testDB(t, path), c)
	st := testDB(t, path)
	_, err := NewIssuer(context.Background(), IssuerOptions{Store: st, DataKey: []byte("another-key-another-key-another-"), URL: testIssuerURL, Now: c.Now})
	if err == nil || !strings.Contains(err.Error(), "another scaffolder.secretKey") {
		t.Fatalf("issuer with another data key: %v", err)
	}
	if keys, _ := st.SigningKeys(context.Background(), c.Now()); len(keys) != 1 {
		t.Fatalf("%d keys stored, want the first replica's only", len(keys))
	}
}

// countingKeys is a real key store that counts the reads of its keys.
type countingKeys struct {
	KeyStore
	mu    sync.Mutex
	reads int
}

func (c *countingKeys) SigningKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.KeyStore.SigningKeys(ctx, now)
}

func (c *countingKeys) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

// TestUnknownKidReloadIsRateLimited: tokens naming unknown keys make the
// keys be read again at most once per ReloadEvery, not once per token.
func TestUnknownKidReloadIsRateLimited(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	ks := &countingKeys{KeyStore: testDB(t, filepath.Join(t.TempDir(), "r.db"))}
	i := newTestIssuer(t, ks, c) // ReloadEvery: 1s
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := func(kid string) string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: other}, (&jose.SignerOptions{}).WithHeader("kid", kid))
		tok, _ := jwt.Signed(s).Claims(jwt.Claims{Issuer: testIssuerURL, Subject: "user:default/x"}).Serialize()
		return tok
	}
	c.Add(2 * time.Second)
	before := ks.count()
	for n := range 50 {
		if _, err := i.Verify(ctx, forged("kid-"+string(rune('a'+n%26)))); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Fatal(err)
		}
	}
	if got := ks.count() - before; got != 1 {
		t.Fatalf("50 tokens of unknown keys read the keys %d times, want 1", got)
	}
	c.Add(2 * time.Second)
	if _, err := i.Verify(ctx, forged("later")); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatal(err)
	}
	if got := ks.count() - before; got != 2 {
		t.Fatalf("after ReloadEvery the keys were read %d times in all, want 2", got)
	}
}

// BenchmarkIssuerVerify is the cost of checking a rigger access token
// (parse, ES256 verification, claims) on every request: a token already
// seen (a client sends the same one with every request), with the check
// for revoked tokens and without it (the store seen only as a KeyStore).
func BenchmarkIssuerVerify(b *testing.B) {
	st := testDB(b, filepath.Join(b.TempDir(), "r.db"))
	for _, c := range []struct {
		name  string
		store KeyStore
	}{{"revocation-check", st}, {"no-revocation-check", struct{ KeyStore }{st}}} {
		b.Run(c.name, func(b *testing.B) {
			i := newTestIssuer(b, c.store, newClock())
			tok, _, err := i.Issue(context.Background(), alice)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := i.Verify(context.Background(), tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStoredTokenVerify is the cost of a stored service token: a
// hash and one indexed SQLite read per request.
func BenchmarkStoredTokenVerify(b *testing.B) {
	c := newClock()
	s := NewStoredTokens(testDB(b, filepath.Join(b.TempDir(), "r.db")), nil, nil, c.Now)
	tok, _, err := s.Create(context.Background(), TokenSpec{Name: "ci", Scopes: []string{"catalog.read"}}, "user:default/admin")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Verify(context.Background(), tok); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifiedTokensExpire: a verified token is remembered (the same answer
// without checking its signature again) only until it expires; a caller
// changing the identity it got does not change the next caller's.
func TestVerifiedTokensExpire(t *testing.T) {
	c := newClock()
	i := newTestIssuer(t, testDB(t, filepath.Join(t.TempDir(), "r.db")), c)
	tok, exp, err := i.Issue(context.Background(), alice)
	if err != nil {
		t.Fatal(err)
	}
	id, err := i.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	id.Ent[0] = "user:default/mallory"
	again, err := i.Verify(context.Background(), tok)
	if err != nil || again.Ent[0] != "user:default/alice" {
		t.Fatalf("remembered token: %+v %v", again, err)
	}
	c.Add(exp.Sub(c.Now()) + time.Hour)
	if _, err := i.Verify(context.Background(), tok); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("an expired, once verified token: %v", err)
	}
}
