package auth

import (
	"context"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// Rigger access tokens.
const (
	// Audience is the aud of every access token rigger issues.
	Audience = "rigger"
	// DefaultTokenTTL is how long an access token lasts unless configured.
	DefaultTokenTTL = 15 * time.Minute
	// MaxTokenTTL bounds every access token's lifetime.
	MaxTokenTTL = time.Hour
	// DefaultKeyRotation is how long a signing key signs.
	DefaultKeyRotation = 24 * time.Hour
	// ViaBreakGlass marks the identity of a break-glass token.
	ViaBreakGlass = "break-glass"
	// ViaMCPOAuth marks the identity of an MCP client's access token.
	ViaMCPOAuth = "mcp-oauth"
	// defaultReloadEvery bounds how often an unknown kid reloads the keys.
	defaultReloadEvery = 5 * time.Second
)

// KeyStore keeps the signing keys every replica shares.
type KeyStore interface {
	AddSigningKey(ctx context.Context, k store.SigningKey, since time.Time) (bool, error)
	SigningKeys(ctx context.Context, now time.Time) ([]store.SigningKey, error)
}

var errNoUsableKey = errors.New("no token signing key this process can open: the newest stored one is sealed with another scaffolder.secretKey (every server must share one)")

// IssuerOptions configure an Issuer.
type IssuerOptions struct {
	Store KeyStore
	// DataKey (32 bytes, scaffolder.secretKey) seals the private keys in
	// the store.
	DataKey []byte
	// URL is the iss of the tokens: server.baseUrl.
	URL string
	// TTL of access tokens [15m], at most MaxTokenTTL.
	TTL time.Duration
	// RotateEvery is how long a key signs before a new one is made [24h].
	RotateEvery time.Duration
	// ReloadEvery bounds how often a token signed by an unknown key makes
	// the keys be read again [5s].
	ReloadEvery time.Duration
	// Revocations keep tokens revoked before they expire; nil takes
	// Store when it keeps them too (the SQL store does), else no token
	// can be revoked.
	Revocations RevocationStore
	// RevocationWindow bounds how stale the copy of the revocations a
	// verification consults may be [2s].
	RevocationWindow time.Duration
	Logger           *slog.Logger
	Now              func() time.Time
}

// Issuer issues and verifies rigger's access tokens: ES256 JWTs signed by
// keys kept (sealed) in the database, so every replica verifies every
// other's tokens. Keys rotate every RotateEvery; a key keeps verifying
// until every token it signed expired.
type Issuer struct {
	o    IssuerOptions
	aead cipher.AEAD
	rev  *revocations

	mu         sync.Mutex
	keys       map[string]*signingKey
	current    *signingKey
	lastReload time.Time

	// verified remembers tokens whose signature checked out, by their
	// SHA-256, until they expire: a client sends the same access token
	// with every request, and an ES256 verification costs ~100 µs.
	verifiedMu sync.Mutex
	verified   map[[32]byte]verifiedToken
}

type verifiedToken struct {
	id  Identity
	exp time.Time
	iat time.Time
	gen *int64
}

// maxVerified bounds Issuer.verified (emptied when full).
const maxVerified = 10000

type signingKey struct {
	kid string
	// priv is nil when the sealed key does not open with this process's
	// data key: the key then only verifies (with pub).
	priv     *ecdsa.PrivateKey
	pub      *ecdsa.PublicKey
	jwk      json.RawMessage
	created  time.Time
	notAfter time.Time
	expires  time.Time
}

// tokenClaims are rigger's claims beside the registered ones.
type tokenClaims struct {
	Ent    []string `json:"ent,omitempty"`
	Scopes []string `json:"scp,omitempty"`
	Via    string   `json:"via,omitempty"`
	// Sid names the sign-in (session family) the token was refreshed
	// from: revoking it ends the token.
	Sid string `json:"sid,omitempty"`
	// Channel "mcp", MCPScopes and Client mark an MCP client's token
	// (its audience is then MCPResource, not Audience).
	Channel   string   `json:"ch,omitempty"`
	MCPScopes []string `json:"mscp,omitempty"`
	Client    string   `json:"cid,omitempty"`
	// Gen is the subject's token generation at issue (its revocations
	// so far): revoking every token of the user raises it, and a token
	// of a lower one is refused (see revocations). Absent when the
	// issuer keeps no revocations.
	Gen *int64 `json:"rgen,omitempty"`
}

// NewIssuer checks the options and loads (or creates) the signing keys.
func NewIssuer(ctx context.Context, o IssuerOptions) (*Issuer, error) {
	if o.Store == nil {
		return nil, errors.New("rigger tokens need a store for their signing keys")
	}
	if len(o.DataKey) != 32 {
		return nil, errors.New("rigger tokens need scaffolder.secretKey (32 bytes) to seal their signing keys")
	}
	if o.URL == "" {
		return nil, errors.New("rigger tokens need server.baseUrl: it is their issuer (iss)")
	}
	if o.TTL == 0 {
		o.TTL = DefaultTokenTTL
	}
	if o.TTL < 0 || o.TTL > MaxTokenTTL {
		return nil, fmt.Errorf("access token lifetime %s is outside (0, %s]", o.TTL, MaxTokenTTL)
	}
	if o.RotateEvery == 0 {
		o.RotateEvery = DefaultKeyRotation
	}
	if o.RotateEvery < time.Minute {
		return nil, fmt.Errorf("signing key rotation every %s is too often (at least 1m)", o.RotateEvery)
	}
	if o.ReloadEvery == 0 {
		o.ReloadEvery = defaultReloadEvery
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	aead, err := newAEAD(o.DataKey)
	if err != nil {
		return nil, fmt.Errorf("signing key seal: %w", err)
	}
	i := &Issuer{o: o, aead: aead, keys: map[string]*signingKey{}}
	if o.Revocations == nil {
		o.Revocations, _ = o.Store.(RevocationStore)
	}
	if o.RevocationWindow == 0 {
		o.RevocationWindow = DefaultRevocationWindow
	}
	if o.RevocationWindow < 0 || o.RevocationWindow > time.Minute {
		return nil, fmt.Errorf("token revocation window %s is outside (0, 1m]", o.RevocationWindow)
	}
	if o.Revocations != nil {
		i.rev = &revocations{st: o.Revocations, window: o.RevocationWindow, now: o.Now, logger: o.Logger}
	}
	i.o = o
	i.mu.Lock()
	defer i.mu.Unlock()
	if err := i.reloadLocked(ctx); err != nil {
		return nil, err
	}
	if _, err := i.signingKeyLocked(ctx); err != nil {
		return nil, err
	}
	return i, nil
}

// URL is the issuer (iss) of the tokens.
func (i *Issuer) URL() string { return i.o.URL }

// TTL is the default access token lifetime.
func (i *Issuer) TTL() time.Duration { return i.o.TTL }

// Issue signs an access token for id lasting the configured TTL.
func (i *Issuer) Issue(ctx context.Context, id Identity) (string, time.Time, error) {
	return i.IssueTTL(ctx, id, i.o.TTL)
}

// IssueTTL signs an access token for id lasting ttl (at most MaxTokenTTL).
// Its claims: iss, aud rigger, sub id.Ref, ent id.Ent, scp id.Scopes, via
// when not plain, sid id.Session when set, iat, exp and a random jti.
func (i *Issuer) IssueTTL(ctx context.Context, id Identity, ttl time.Duration) (string, time.Time, error) {
	if id.Ref == "" {
		return "", time.Time{}, errors.New("issue token: the identity has no ref")
	}
	if ttl <= 0 || ttl > MaxTokenTTL {
		return "", time.Time{}, fmt.Errorf("issue token: lifetime %s is outside (0, %s]", ttl, MaxTokenTTL)
	}
	i.mu.Lock()
	k, err := i.signingKeyLocked(ctx)
	i.mu.Unlock()
	if err != nil {
		return "", time.Time{}, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.kid))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	now := i.o.Now()
	exp := now.Add(ttl)
	// A token says how it was issued only when that matters to audit:
	// the break-glass token. Others are plain rigger tokens.
	via := ""
	if id.Via == ViaBreakGlass {
		via = ViaBreakGlass
	}
	aud, extra := Audience, tokenClaims{Ent: id.Ent, Scopes: id.Scopes, Via: via, Sid: id.Session}
	if i.rev != nil {
		gen, err := i.rev.st.TokenGeneration(ctx, id.Ref)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("issue token: %w", err)
		}
		extra.Gen = &gen
	}
	if id.Channel == ChannelMCP {
		// An MCP client's token: for /api/mcp only (see VerifyRequest).
		aud, extra.Channel, extra.MCPScopes, extra.Client, extra.Via = i.MCPResource(), ChannelMCP, id.MCPScopes, id.Client, ""
	}
	std := jwt.Claims{Issuer: i.o.URL, Audience: jwt.Audience{aud}, Subject: id.Ref, ID: randomID(16),
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp)}
	tok, err := jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue token: %w", err)
	}
	return tok, exp, nil
}

// Authenticate implements Authenticator for `Authorization: Bearer <jwt>`.
func (i *Issuer) Authenticate(r *http.Request) (Identity, error) {
	tok, err := bearer(r)
	if err != nil {
		return Identity{}, err
	}
	return i.VerifyRequest(r, tok)
}

// VerifyRequest verifies token for request r: an MCP client's token is
// accepted only on MCPPath (IsMCPPath), every other token anywhere.
func (i *Issuer) VerifyRequest(r *http.Request, token string) (Identity, error) {
	if IsMCPPath(r.URL.Path) {
		return i.verify(r.Context(), token)
	}
	return i.Verify(r.Context(), token)
}

// Verify checks a rigger access token for the REST API and returns who
// it was issued to. Every refusal unwraps to errs.ErrUnauthenticated and
// says why; a token revoked before it expired is refused too (see
// RevokeToken), and so is an MCP client's token (see VerifyRequest).
func (i *Issuer) Verify(ctx context.Context, token string) (Identity, error) {
	id, err := i.verify(ctx, token)
	if err == nil && id.Channel == ChannelMCP {
		return Identity{}, errs.Unauthenticated("this access token was issued to an MCP client (audience %s): it is accepted only on %s", i.MCPResource(), MCPPath)
	}
	return id, err
}

// verify checks a rigger access token of either audience.
func (i *Issuer) verify(ctx context.Context, token string) (Identity, error) {
	if len(token) > MaxTokenBytes {
		return Identity{}, errs.Unauthenticated("access token is %d bytes; at most %d are accepted", len(token), MaxTokenBytes)
	}
	sum := sha256.Sum256([]byte(token))
	i.verifiedMu.Lock()
	v, ok := i.verified[sum]
	i.verifiedMu.Unlock()
	if !ok || !i.o.Now().Before(v.exp) {
		var err error
		v, err = i.verifyClaims(ctx, token)
		if err != nil {
			return Identity{}, err
		}
		i.verifiedMu.Lock()
		if i.verified == nil || len(i.verified) >= maxVerified {
			i.verified = map[[32]byte]verifiedToken{}
		}
		i.verified[sum] = v
		i.verifiedMu.Unlock()
	}
	if i.rev != nil {
		if err := i.rev.check(ctx, tokenRef{sub: v.id.Ref, sid: v.id.Session, jti: v.id.TokenID, iat: v.iat, gen: v.gen}); err != nil {
			return Identity{}, err
		}
	}
	id := v.id // callers get their own slices
	id.Ent, id.Scopes, id.MCPScopes = slices.Clone(id.Ent), slices.Clone(id.Scopes), slices.Clone(id.MCPScopes)
	return id, nil
}

func (i *Issuer) verifyClaims(ctx context.Context, token string) (verifiedToken, error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return verifiedToken{}, errs.Unauthenticated("access token refused (only ES256-signed JWTs are accepted): %v", err)
	}
	if len(parsed.Headers) != 1 {
		return verifiedToken{}, errs.Unauthenticated("access token refused: it must carry exactly one signature")
	}
	kid := parsed.Headers[0].KeyID
	if kid == "" {
		return verifiedToken{}, errs.Unauthenticated("access token refused: its header names no signing key (kid)")
	}
	k, err := i.verifyingKey(ctx, kid)
	if err != nil {
		return verifiedToken{}, err
	}
	var std jwt.Claims
	var extra tokenClaims
	if err := parsed.Claims(k.pub, &std, &extra); err != nil {
		return verifiedToken{}, errs.Unauthenticated("access token refused: its signature does not verify with key %q", kid)
	}
	if std.Issuer != i.o.URL {
		return verifiedToken{}, errs.Unauthenticated("access token refused: issuer %q is not this server (%q)", std.Issuer, i.o.URL)
	}
	// One audience each: rigger's REST API, or (with the mcp channel
	// claim) the MCP endpoint; never both in one token.
	switch {
	case extra.Channel == ChannelMCP:
		if len(std.Audience) != 1 || std.Audience[0] != i.MCPResource() {
			return verifiedToken{}, errs.Unauthenticated("access token refused: an MCP token's audience must be exactly %q, not %q", i.MCPResource(), []string(std.Audience))
		}
	case extra.Channel != "":
		return verifiedToken{}, errs.Unauthenticated("access token refused: unknown channel %q", clipClaim(extra.Channel))
	case !std.Audience.Contains(Audience):
		return verifiedToken{}, errs.Unauthenticated("access token refused: audience %q does not include %q", []string(std.Audience), Audience)
	case std.Audience.Contains(i.MCPResource()):
		return verifiedToken{}, errs.Unauthenticated("access token refused: audience %q names both the REST API and the MCP endpoint", []string(std.Audience))
	}
	now := i.o.Now()
	if err := checkTimes(std, now); err != nil {
		return verifiedToken{}, err
	}
	if std.Subject == "" {
		return verifiedToken{}, errs.Unauthenticated("access token refused: it has no subject (sub)")
	}
	via := extra.Via
	if via == "" {
		via = "rigger-token"
	}
	v := verifiedToken{exp: std.Expiry.Time(), gen: extra.Gen}
	if std.IssuedAt != nil {
		v.iat = std.IssuedAt.Time()
	}
	if extra.Channel == ChannelMCP {
		v.id = Identity{Ref: std.Subject, Ent: extra.Ent, Via: ViaMCPOAuth, TokenID: std.ID, Session: extra.Sid,
			Channel: ChannelMCP, MCPScopes: extra.MCPScopes, Client: extra.Client}
		return v, nil
	}
	v.id = Identity{Ref: std.Subject, Ent: extra.Ent, Scopes: extra.Scopes, Via: via, TokenID: std.ID, Session: extra.Sid}
	return v, nil
}

// checkTimes requires exp and checks exp, nbf and iat against now.
func checkTimes(std jwt.Claims, now time.Time) error {
	if std.Expiry == nil {
		return errs.Unauthenticated("token refused: it has no expiry (exp)")
	}
	if exp := std.Expiry.Time(); now.After(exp.Add(clockSkew)) {
		return errs.Unauthenticated("token refused: it expired at %s", exp.UTC().Format(time.RFC3339))
	}
	if std.NotBefore != nil && now.Add(clockSkew).Before(std.NotBefore.Time()) {
		return errs.Unauthenticated("token refused: it is not valid before %s", std.NotBefore.Time().UTC().Format(time.RFC3339))
	}
	if std.IssuedAt != nil && now.Add(clockSkew).Before(std.IssuedAt.Time()) {
		return errs.Unauthenticated("token refused: it was issued in the future (%s)", std.IssuedAt.Time().UTC().Format(time.RFC3339))
	}
	return nil
}

// verifyingKey finds kid, reloading the keys once when it is unknown
// (another replica rotated) unless they were read within ReloadEvery.
func (i *Issuer) verifyingKey(ctx context.Context, kid string) (*signingKey, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.o.Now()
	k, ok := i.keys[kid]
	if !ok && now.Sub(i.lastReload) >= i.o.ReloadEvery {
		if err := i.reloadLocked(ctx); err != nil {
			i.o.Logger.Warn("reload signing keys", "error", err)
			return nil, fmt.Errorf("%w: signing keys unavailable", errs.ErrUnavailable)
		}
		k, ok = i.keys[kid]
	}
	if !ok {
		return nil, errs.Unauthenticated("access token refused: it was signed by an unknown key %q", kid)
	}
	if !now.Before(k.expires) {
		return nil, errs.Unauthenticated("access token refused: its signing key %q expired at %s", kid, k.expires.UTC().Format(time.RFC3339))
	}
	return k, nil
}

// signingKeyLocked returns the key to sign with, rotating when the
// current one stopped signing: a replica that finds another's newer key
// uses it instead of adding its own.
func (i *Issuer) signingKeyLocked(ctx context.Context) (*signingKey, error) {
	now := i.o.Now()
	if i.current != nil && now.Before(i.current.notAfter) {
		return i.current, nil
	}
	if err := i.reloadLocked(ctx); err != nil {
		return nil, err
	}
	if i.current != nil && now.Before(i.current.notAfter) {
		return i.current, nil
	}
	// Another replica's key made after the newest we know means it
	// rotated first: add none.
	since := now.Add(-i.o.RotateEvery)
	var newest *signingKey
	for _, k := range i.keys {
		if newest == nil || k.created.After(newest.created) {
			newest = k
		}
	}
	if newest != nil && newest.created.After(since) {
		since = newest.created
	}
	if newest != nil && newest.priv == nil && now.Before(newest.notAfter) {
		// Adding a key here would give the replicas keys each other
		// cannot sign with.
		return nil, errNoUsableKey
	}
	k, err := i.newKey(now)
	if err != nil {
		return nil, err
	}
	added, err := i.o.Store.AddSigningKey(ctx, k, since)
	if err != nil {
		return nil, fmt.Errorf("store new signing key: %w", err)
	}
	if added {
		i.o.Logger.Info("new token signing key", "kid", k.KID, "signs_until", k.NotAfter.UTC().Format(time.RFC3339))
	}
	if err := i.reloadLocked(ctx); err != nil {
		return nil, err
	}
	if i.current == nil || !now.Before(i.current.notAfter) {
		return nil, errNoUsableKey
	}
	return i.current, nil
}

// newKey makes a key signing from now for RotateEvery and verifying until
// the longest token it may sign expired.
func (i *Issuer) newKey(now time.Time) (store.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	kid := randomID(12)
	der, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode signing key: %w", err)
	}
	sealed, err := sealWith(i.aead, der, []byte("rigger signing key "+kid))
	if err != nil {
		return store.SigningKey{}, err
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("encode public key: %w", err)
	}
	notAfter := now.Add(i.o.RotateEvery)
	return store.SigningKey{KID: kid, SealedPrivate: sealed, PublicJWK: jwk,
		Created: now, NotAfter: notAfter, Expires: notAfter.Add(MaxTokenTTL + clockSkew)}, nil
}

// reloadLocked reads the keys still verifying; the newest one still
// signing becomes current.
func (i *Issuer) reloadLocked(ctx context.Context) error {
	now := i.o.Now()
	stored, err := i.o.Store.SigningKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("read signing keys: %w", err)
	}
	keys := make(map[string]*signingKey, len(stored))
	var current *signingKey
	for _, s := range stored {
		k := i.keys[s.KID]
		if k == nil {
			if k, err = i.openKey(s); err != nil {
				return err
			}
		}
		keys[s.KID] = k
		if k.priv != nil && now.Before(k.notAfter) && (current == nil || k.created.After(current.created)) {
			current = k
		}
	}
	i.keys, i.current, i.lastReload = keys, current, now
	return nil
}

// openKey reads a stored key: its public JWK, and its private key when
// it opens with the data key (else it only verifies, with a warning).
func (i *Issuer) openKey(s store.SigningKey) (*signingKey, error) {
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(s.PublicJWK); err != nil {
		return nil, fmt.Errorf("signing key %s: public JWK: %w", s.KID, err)
	}
	pub, ok := jwk.Key.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, fmt.Errorf("signing key %s: public JWK is not a P-256 key", s.KID)
	}
	k := &signingKey{kid: s.KID, pub: pub, jwk: s.PublicJWK, created: s.Created, notAfter: s.NotAfter, expires: s.Expires}
	der, err := openWith(i.aead, s.SealedPrivate, []byte("rigger signing key "+s.KID))
	if err != nil {
		i.o.Logger.Warn("token signing key does not open with this scaffolder.secretKey (was the key changed?): it only verifies", "kid", s.KID)
		return k, nil
	}
	priv, err := x509.ParseECPrivateKey(der)
	if err != nil || !priv.PublicKey.Equal(pub) {
		return nil, fmt.Errorf("signing key %s: the private key does not match its public JWK", s.KID)
	}
	k.priv = priv
	return k, nil
}

// JWKS is the JSON Web Key Set of the keys still verifying.
func (i *Issuer) JWKS(ctx context.Context) ([]byte, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	now := i.o.Now()
	if now.Sub(i.lastReload) >= i.o.ReloadEvery {
		if err := i.reloadLocked(ctx); err != nil {
			return nil, err
		}
	}
	ks := make([]*signingKey, 0, len(i.keys))
	for _, k := range i.keys {
		if now.Before(k.expires) {
			ks = append(ks, k)
		}
	}
	slices.SortFunc(ks, func(a, b *signingKey) int { return b.created.Compare(a.created) })
	set := struct {
		Keys []json.RawMessage `json:"keys"`
	}{Keys: []json.RawMessage{}}
	for _, k := range ks {
		set.Keys = append(set.Keys, k.jwk)
	}
	return json.Marshal(set)
}

// randomID is n random bytes, base64url.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
