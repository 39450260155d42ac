package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riggerdev/rigger/internal/errs"
)

// Proxy providers trust nothing but a signature: the identity is read only
// from an assertion verified against the proxy's published keys, never from
// an unsigned header such as x-amzn-oidc-identity or
// x-goog-authenticated-user-email.

const (
	// maxKeyBytes bounds one key or key-set response.
	maxKeyBytes = 64 << 10
	// keyFetchTimeout bounds one key fetch.
	keyFetchTimeout = 5 * time.Second
	// maxCachedKeys bounds the ALB key cache.
	maxCachedKeys = 64
	// refetchAfter is how long a fetched key set is trusted as complete: a
	// kid it lacks is refused without asking again until then.
	refetchAfter = time.Minute
	// keysMaxAge is how long a fetched JWK set is used before it is read
	// again, so a key the proxy withdrew stops being trusted.
	keysMaxAge = time.Hour
	// clockSkew is the leeway on exp and iat (between replicas' and
	// proxies' clocks).
	clockSkew = 30 * time.Second
)

// ALBConfig configures sign-in through an AWS Application Load Balancer with
// authentication on.
type ALBConfig struct {
	// Region of the load balancer, e.g. eu-west-1.
	Region string
	// Signer is the ARN of the load balancer; an assertion signed by any
	// other is refused.
	Signer string
	// KeyURL is the base URL of the public keys; default
	// https://public-keys.auth.elb.<region>.amazonaws.com (tests override it).
	KeyURL     string
	HTTPClient *http.Client
	Now        func() time.Time
}

// ALB verifies the x-amzn-oidc-data assertion of an AWS ALB: ES256, the
// public key fetched by kid from the region's key URL (cached), the signer
// ARN and the expiry checked.
type ALB struct {
	cfg    ALBConfig
	client *http.Client
	now    func() time.Time

	mu     sync.Mutex
	keys   map[string]*ecdsa.PublicKey
	missed map[string]time.Time // kids the key URL did not serve, and when
	failed time.Time            // the last failed read of the key URL
}

// isKeyID says whether kid can go into the key URL's path: 1 to 128
// letters, digits, - and _ (ALB kids are UUIDs).
func isKeyID(kid string) bool {
	if kid == "" || len(kid) > 128 {
		return false
	}
	for _, r := range kid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// ALBHeader is the header an ALB puts its signed user claims in.
const ALBHeader = "X-Amzn-Oidc-Data"

// NewALB checks cfg; it does no I/O.
func NewALB(cfg ALBConfig) (*ALB, error) {
	if !regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`).MatchString(cfg.Region) {
		return nil, errs.Invalid("awsAlb: region %q is not an AWS region name such as eu-west-1", cfg.Region)
	}
	if !regexp.MustCompile(`^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:loadbalancer/app/[A-Za-z0-9-]+/[0-9a-f]+$`).MatchString(cfg.Signer) {
		return nil, errs.Invalid("awsAlb: signer %q is not the ARN of an application load balancer (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)", cfg.Signer)
	}
	if cfg.KeyURL == "" {
		cfg.KeyURL = "https://public-keys.auth.elb." + cfg.Region + ".amazonaws.com"
	}
	if _, err := url.Parse(cfg.KeyURL); err != nil {
		return nil, errs.Invalid("awsAlb: key URL %q: %v", cfg.KeyURL, err)
	}
	a := &ALB{cfg: cfg, client: limitedClient(cfg.HTTPClient, keyFetchTimeout, maxKeyBytes), now: cfg.Now,
		keys: map[string]*ecdsa.PublicKey{}, missed: map[string]time.Time{}}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Name implements ProxyProvider.
func (a *ALB) Name() string { return "awsAlb" }

// Identify implements ProxyProvider.
func (a *ALB) Identify(r *http.Request) (ProviderIdentity, error) {
	return a.Verify(r.Context(), r.Header.Get(ALBHeader))
}

// Verify checks one x-amzn-oidc-data assertion. ALB base64url-encodes its
// segments with padding, which JWT libraries (go-jose included) reject, so
// the ES256 signature is checked here with crypto/ecdsa over the segments
// exactly as received.
func (a *ALB) Verify(ctx context.Context, raw string) (ProviderIdentity, error) {
	if raw == "" {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: no %s header: is rigger behind the load balancer, with authentication on?", ALBHeader)
	}
	if len(raw) > MaxTokenBytes {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion is %d bytes, more than %d", len(raw), MaxTokenBytes)
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion is not a signed JWT (%d segments, want 3)", len(parts))
	}
	var h struct {
		Alg    string `json:"alg"`
		Kid    string `json:"kid"`
		Signer string `json:"signer"`
		Exp    *int64 `json:"exp"`
	}
	if err := decodeSegment(parts[0], &h); err != nil {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion's header: %v", err)
	}
	if h.Alg != "ES256" {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion is signed with alg %q; only ES256 is accepted", clip(h.Alg, 20))
	}
	if h.Signer != a.cfg.Signer {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion was signed by %q, expected %q", clip(h.Signer, 200), a.cfg.Signer)
	}
	if !isKeyID(h.Kid) {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion's kid %q is not a key id", clip(h.Kid, 140))
	}
	sig, err := decodeB64(parts[2])
	if err != nil || len(sig) != 64 {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion's signature is not a 64-byte ES256 signature")
	}
	key, err := a.key(ctx, h.Kid)
	if err != nil {
		return ProviderIdentity{}, err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(key, digest[:], r, s) {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion's signature does not verify against key %s of %s", h.Kid, a.cfg.KeyURL)
	}
	var c struct {
		idClaims
		Sub string `json:"sub"`
		Exp *int64 `json:"exp"`
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion's claims: %v", err)
	}
	exp := c.Exp
	if exp == nil || (h.Exp != nil && *h.Exp < *exp) {
		exp = h.Exp
	}
	if exp == nil {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion has no exp")
	}
	if at := time.Unix(*exp, 0); a.now().After(at.Add(clockSkew)) {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion expired at %s", at.UTC().Format(time.RFC3339))
	}
	if c.Sub == "" {
		return ProviderIdentity{}, errs.Unauthenticated("awsAlb: the assertion has no sub")
	}
	id := ProviderIdentity{Provider: a.Name(), Subject: c.Sub, Login: c.PreferredUsername, Name: c.Name}
	if v, _ := c.emailVerified(); v {
		id.Email = c.Email
	}
	return id, nil
}

// key returns the public key kid, from the cache or the key URL.
func (a *ALB) key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if k := a.keys[kid]; k != nil {
		return k, nil
	}
	if at, ok := a.missed[kid]; ok && a.now().Sub(at) < refetchAfter {
		return nil, errs.Unauthenticated("awsAlb: %s serves no key %s", a.cfg.KeyURL, kid)
	}
	// A key URL that failed is not asked again for a while: requests must
	// not queue behind one that hangs.
	if !a.failed.IsZero() && a.now().Sub(a.failed) < refetchAfter {
		return nil, fmt.Errorf("awsAlb: the key URL %s failed at %s; trying again after %s: %w",
			a.cfg.KeyURL, a.failed.UTC().Format(time.RFC3339), refetchAfter, errs.ErrUnavailable)
	}
	body, status, err := fetch(ctx, a.client, strings.TrimRight(a.cfg.KeyURL, "/")+"/"+kid)
	if err == nil && status >= 500 {
		err = fmt.Errorf("status %d", status)
	}
	if err != nil {
		a.failed = a.now()
		return nil, fmt.Errorf("awsAlb: fetch key %s: %v: %w", kid, err, errs.ErrUnavailable)
	}
	a.failed = time.Time{}
	if status == http.StatusNotFound || status == http.StatusForbidden {
		if len(a.missed) >= maxCachedKeys {
			clear(a.missed)
		}
		a.missed[kid] = a.now()
		return nil, errs.Unauthenticated("awsAlb: %s serves no key %s", a.cfg.KeyURL, kid)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("awsAlb: fetch key %s: status %d: %w", kid, status, errs.ErrUnavailable)
	}
	blk, _ := pem.Decode(body)
	if blk == nil {
		return nil, fmt.Errorf("awsAlb: key %s is not PEM: %w", kid, errs.ErrUnavailable)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("awsAlb: key %s: %v: %w", kid, err, errs.ErrUnavailable)
	}
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || k.Curve != elliptic.P256() {
		return nil, fmt.Errorf("awsAlb: key %s is not a P-256 key: %w", kid, errs.ErrUnavailable)
	}
	if len(a.keys) >= maxCachedKeys {
		clear(a.keys)
	}
	a.keys[kid] = k
	return k, nil
}

// decodeB64 decodes base64url with or without padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func decodeSegment(s string, v any) error {
	b, err := decodeB64(s)
	if err != nil {
		return fmt.Errorf("not base64url: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	return nil
}

// fetch GETs u with c (whose body is size limited).
func fetch(ctx context.Context, c *http.Client, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, 0, err
	}
	return b, resp.StatusCode, nil
}

// IAPConfig configures sign-in through Google Cloud Identity-Aware Proxy.
type IAPConfig struct {
	// Audience is /projects/<number>/global/backendServices/<id> or
	// /projects/<number>/apps/<project-id>.
	Audience string
	// KeyURL is the JWK set; default https://www.gstatic.com/iap/verify/public_key-jwk.
	KeyURL     string
	HTTPClient *http.Client
	Now        func() time.Time
}

// IAPHeader is the header IAP puts its signed assertion in.
const IAPHeader = "X-Goog-Iap-Jwt-Assertion"

// NewIAP returns the GCP IAP provider: ES256, iss https://cloud.google.com/iap,
// aud the configured audience.
func NewIAP(cfg IAPConfig) (*Assertion, error) {
	if !regexp.MustCompile(`^/projects/[0-9]+/(global/backendServices/[0-9]+|apps/[a-z][a-z0-9-]{4,28}[a-z0-9])$`).MatchString(cfg.Audience) {
		return nil, errs.Invalid("gcpIap: audience %q is not /projects/<number>/global/backendServices/<id> or /projects/<number>/apps/<project-id>", cfg.Audience)
	}
	if cfg.KeyURL == "" {
		cfg.KeyURL = "https://www.gstatic.com/iap/verify/public_key-jwk"
	}
	return newAssertion("gcpIap", IAPHeader, "https://cloud.google.com/iap", cfg.Audience, jose.ES256, cfg.KeyURL, cfg.HTTPClient, cfg.Now)
}

// CloudflareConfig configures sign-in through Cloudflare Access.
type CloudflareConfig struct {
	// TeamDomain is <team>.cloudflareaccess.com (https:// optional).
	TeamDomain string
	// Audience is the application's AUD tag.
	Audience string
	// KeyURL is the JWK set; default https://<team domain>/cdn-cgi/access/certs.
	KeyURL     string
	HTTPClient *http.Client
	Now        func() time.Time
}

// CloudflareHeader is the header Cloudflare Access puts its signed assertion in.
const CloudflareHeader = "Cf-Access-Jwt-Assertion"

// NewCloudflare returns the Cloudflare Access provider: RS256, iss the team
// domain, aud the application's AUD tag.
func NewCloudflare(cfg CloudflareConfig) (*Assertion, error) {
	host := strings.TrimSuffix(strings.TrimPrefix(cfg.TeamDomain, "https://"), "/")
	if !regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.cloudflareaccess\.com$`).MatchString(host) {
		return nil, errs.Invalid("cloudflareAccess: team domain %q is not <team>.cloudflareaccess.com", cfg.TeamDomain)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(cfg.Audience) {
		return nil, errs.Invalid("cloudflareAccess: audience %q is not an application AUD tag (64 hex digits)", cfg.Audience)
	}
	iss := "https://" + host
	if cfg.KeyURL == "" {
		cfg.KeyURL = iss + "/cdn-cgi/access/certs"
	}
	return newAssertion("cloudflareAccess", CloudflareHeader, iss, cfg.Audience, jose.RS256, cfg.KeyURL, cfg.HTTPClient, cfg.Now)
}

// Assertion verifies a proxy's standard JWT (GCP IAP, Cloudflare Access) with
// go-jose against the proxy's JWK set: the one algorithm the proxy uses, the
// issuer, the audience and the expiry.
type Assertion struct {
	name, header     string
	issuer, audience string
	alg              jose.SignatureAlgorithm
	keyURL           string
	client           *http.Client
	now              func() time.Time

	mu      sync.Mutex
	keys    map[string]jose.JSONWebKey
	fetched time.Time
	failed  time.Time // the last failed read of the key URL
}

func newAssertion(name, header, issuer, audience string, alg jose.SignatureAlgorithm, keyURL string, c *http.Client, now func() time.Time) (*Assertion, error) {
	if _, err := url.Parse(keyURL); err != nil {
		return nil, errs.Invalid("%s: key URL %q: %v", name, keyURL, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Assertion{name: name, header: header, issuer: issuer, audience: audience, alg: alg, keyURL: keyURL,
		client: limitedClient(c, keyFetchTimeout, maxKeyBytes), now: now}, nil
}

// Name implements ProxyProvider.
func (a *Assertion) Name() string { return a.name }

// Identify implements ProxyProvider.
func (a *Assertion) Identify(r *http.Request) (ProviderIdentity, error) {
	return a.Verify(r.Context(), r.Header.Get(a.header))
}

// Verify checks one assertion.
func (a *Assertion) Verify(ctx context.Context, raw string) (ProviderIdentity, error) {
	if raw == "" {
		return ProviderIdentity{}, errs.Unauthenticated("%s: no %s header: is rigger behind the proxy?", a.name, a.header)
	}
	if len(raw) > MaxTokenBytes {
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion is %d bytes, more than %d", a.name, len(raw), MaxTokenBytes)
	}
	if err := checkAlg(a.name+": the assertion", raw, []string{string(a.alg)}); err != nil {
		return ProviderIdentity{}, err
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{a.alg})
	if err != nil {
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion is not a signed JWT: %v", a.name, err)
	}
	kid := tok.Headers[0].KeyID
	key, err := a.key(ctx, kid)
	if err != nil {
		return ProviderIdentity{}, err
	}
	var std jwt.Claims
	var c idClaims
	if err := tok.Claims(key.Key, &std, &c); err != nil {
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion's signature does not verify against key %q of %s", a.name, clip(kid, 140), a.keyURL)
	}
	if std.Issuer != a.issuer {
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion's issuer is %q, expected %q", a.name, clip(std.Issuer, 200), a.issuer)
	}
	if !std.Audience.Contains(a.audience) {
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion's audience is %s, expected %s", a.name, clip(strings.Join(std.Audience, ","), 200), a.audience)
	}
	if std.Expiry == nil {
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion has no exp", a.name)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Time: a.now()}, clockSkew); err != nil {
		if err == jwt.ErrExpired {
			return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion expired at %s", a.name, std.Expiry.Time().UTC().Format(time.RFC3339))
		}
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion is not valid now: %v", a.name, err)
	}
	if std.Subject == "" {
		return ProviderIdentity{}, errs.Unauthenticated("%s: the assertion has no sub", a.name)
	}
	// Both proxies sign in only with an identity provider that verified
	// the address; an explicit email_verified=false still drops it.
	id := ProviderIdentity{Provider: a.name, Subject: std.Subject, Email: c.Email, Name: c.Name}
	if v, known := c.emailVerified(); known && !v {
		id.Email = ""
	}
	return id, nil
}

// key returns the key kid of the JWK set, fetching the set when it is older
// than keysMaxAge, or when kid is unknown and the last fetch is older than
// refetchAfter. A failed fetch is not retried for refetchAfter (requests do
// not queue behind a hanging key URL); meanwhile the stale set is used.
func (a *Assertion) key(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	age := now.Sub(a.fetched)
	failing := !a.failed.IsZero() && now.Sub(a.failed) < refetchAfter
	k, known := a.keys[kid]
	switch {
	case known && (age < keysMaxAge || failing):
		// Fresh, or stale while the key URL is failing: a withdrawn key
		// stops being trusted at the first successful read.
		return k, nil
	case !a.fetched.IsZero() && age < refetchAfter:
		return jose.JSONWebKey{}, errs.Unauthenticated("%s: %s has no key %q", a.name, a.keyURL, clip(kid, 140))
	case failing:
		return jose.JSONWebKey{}, fmt.Errorf("%s: the keys at %s could not be read at %s; trying again after %s: %w",
			a.name, a.keyURL, a.failed.UTC().Format(time.RFC3339), refetchAfter, errs.ErrUnavailable)
	}
	keys, err := a.fetchKeys(ctx)
	if err != nil {
		a.failed = now
		if known {
			return k, nil
		}
		return jose.JSONWebKey{}, err
	}
	a.keys, a.fetched, a.failed = keys, now, time.Time{}
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return jose.JSONWebKey{}, errs.Unauthenticated("%s: %s has no key %q", a.name, a.keyURL, clip(kid, 140))
}

// fetchKeys reads the JWK set, keeping its valid public keys by kid.
func (a *Assertion) fetchKeys(ctx context.Context) (map[string]jose.JSONWebKey, error) {
	body, status, err := fetch(ctx, a.client, a.keyURL)
	if err != nil {
		return nil, fmt.Errorf("%s: fetch the keys: %v: %w", a.name, err, errs.ErrUnavailable)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%s: fetch the keys from %s: status %d: %w", a.name, a.keyURL, status, errs.ErrUnavailable)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("%s: the keys of %s: %v: %w", a.name, a.keyURL, err, errs.ErrUnavailable)
	}
	keys := map[string]jose.JSONWebKey{}
	for _, k := range set.Keys {
		if k.IsPublic() && k.Valid() {
			keys[k.KeyID] = k
		}
	}
	return keys, nil
}
