package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riggerdev/rigger/internal/errs"
)

// ExternalIssuer is one trusted issuer of JWTs for automation, such as
// GitHub Actions' OIDC tokens (auth.externalAccess).
type ExternalIssuer struct {
	// Issuer is the exact iss.
	Issuer string
	// JWKSURL serves its keys; empty: the jwks_uri of its discovery document.
	JWKSURL string
	// Audience must be among the token's aud.
	Audience string
	// SubjectPrefix must start the token's sub.
	SubjectPrefix string
	// Scopes are what the caller may do.
	Scopes []string
	// Claims must equal these values (strings).
	Claims map[string]string
}

// External verifies JWTs of trusted external issuers. Keys are fetched
// through the given client (bounded: it should refuse internal addresses
// and time out) and cached; an unknown kid refetches them at most once
// every refetchEvery.
type External struct {
	client  *http.Client
	now     func() time.Time
	issuers map[string]*externalIssuer
}

type externalIssuer struct {
	cfg          ExternalIssuer
	mu           sync.Mutex
	keys         *jose.JSONWebKeySet
	fetched      time.Time
	refetchEvery time.Duration
}

// externalAlgs are the signature algorithms accepted from external
// issuers: asymmetric only (never none or HMAC).
var externalAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.EdDSA}

// maxJWKSBytes bounds a fetched key set or discovery document.
const maxJWKSBytes = 1 << 20

// NewExternal checks the trusted issuers. client fetches their keys.
func NewExternal(list []ExternalIssuer, client *http.Client, now func() time.Time) (*External, error) {
	if client == nil {
		return nil, errors.New("external JWT access needs an HTTP client")
	}
	if now == nil {
		now = time.Now
	}
	e := &External{client: client, now: now, issuers: map[string]*externalIssuer{}}
	for n, c := range list {
		where := fmt.Sprintf("auth.externalAccess[%d]", n)
		switch {
		case c.Issuer == "":
			return nil, fmt.Errorf("%s: issuer is required", where)
		case c.Audience == "":
			return nil, fmt.Errorf("%s (%s): audience is required", where, c.Issuer)
		case c.SubjectPrefix == "":
			return nil, fmt.Errorf("%s (%s): subjectPrefix is required (trusting every subject of an issuer trusts every repository it serves)", where, c.Issuer)
		case len(c.Scopes) == 0:
			return nil, fmt.Errorf("%s (%s): scopes are required", where, c.Issuer)
		}
		if _, dup := e.issuers[c.Issuer]; dup {
			return nil, fmt.Errorf("%s: issuer %s is listed twice", where, c.Issuer)
		}
		e.issuers[c.Issuer] = &externalIssuer{cfg: c, refetchEvery: time.Minute}
	}
	return e, nil
}

// Trusts reports whether iss is a configured issuer.
func (e *External) Trusts(iss string) bool {
	if e == nil {
		return false
	}
	_, ok := e.issuers[iss]
	return ok
}

// Authenticate implements Authenticator.
func (e *External) Authenticate(r *http.Request) (Identity, error) {
	tok, err := bearer(r)
	if err != nil {
		return Identity{}, err
	}
	return e.Verify(r.Context(), tok)
}

// Verify checks an external JWT: a trusted issuer's signature, aud, exp,
// subject prefix and required claims. The identity is
// service:external/<sub> with the issuer's scopes.
func (e *External) Verify(ctx context.Context, token string) (Identity, error) {
	if len(token) > MaxTokenBytes {
		return Identity{}, errs.Unauthenticated("external token is %d bytes; at most %d are accepted", len(token), MaxTokenBytes)
	}
	parsed, err := jwt.ParseSigned(token, externalAlgs)
	if err != nil {
		return Identity{}, errs.Unauthenticated("external token refused (an asymmetrically signed JWT is required): %v", err)
	}
	var unverified jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Identity{}, errs.Unauthenticated("external token refused: claims are not JSON: %v", err)
	}
	iss, ok := e.issuers[unverified.Issuer]
	if !ok {
		return Identity{}, errs.Unauthenticated("external token refused: issuer %s is not in auth.externalAccess", clipClaim(unverified.Issuer))
	}
	if len(parsed.Headers) != 1 {
		return Identity{}, errs.Unauthenticated("external token refused: it must carry exactly one signature")
	}
	key, err := iss.key(ctx, e, parsed.Headers[0].KeyID, parsed.Headers[0].Algorithm)
	if err != nil {
		return Identity{}, err
	}
	var std jwt.Claims
	var all map[string]any
	if err := parsed.Claims(key, &std, &all); err != nil {
		return Identity{}, errs.Unauthenticated("external token refused: its signature does not verify with %s's key %q", iss.cfg.Issuer, parsed.Headers[0].KeyID)
	}
	c := iss.cfg
	if std.Issuer != c.Issuer {
		return Identity{}, errs.Unauthenticated("external token refused: issuer %q changed after verification", std.Issuer)
	}
	if !std.Audience.Contains(c.Audience) {
		return Identity{}, errs.Unauthenticated("external token from %s refused: audience %q does not include %q", c.Issuer, []string(std.Audience), c.Audience)
	}
	if err := checkTimes(std, e.now()); err != nil {
		return Identity{}, err
	}
	if std.Subject == "" || !strings.HasPrefix(std.Subject, c.SubjectPrefix) {
		return Identity{}, errs.Unauthenticated("external token from %s refused: subject %q does not start with %q", c.Issuer, std.Subject, c.SubjectPrefix)
	}
	for name, want := range c.Claims {
		got, ok := all[name].(string)
		if !ok || got != want {
			return Identity{}, errs.Unauthenticated("external token from %s refused: claim %s is %s, want %q", c.Issuer, name, clipClaim(all[name]), want)
		}
	}
	return Identity{Ref: "service:external/" + std.Subject, Service: true, Scopes: c.Scopes, Via: "external-jwt", TokenID: std.ID}, nil
}

// key finds the issuer's key kid, fetching the key set when it is not
// cached or does not hold kid (rate-limited).
func (x *externalIssuer) key(ctx context.Context, e *External, kid, alg string) (any, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	find := func() *jose.JSONWebKey {
		if x.keys == nil {
			return nil
		}
		for _, k := range x.keys.Keys {
			if (kid == "" || k.KeyID == kid) && k.Valid() && k.IsPublic() && (k.Algorithm == "" || k.Algorithm == alg) {
				return &k
			}
		}
		return nil
	}
	k := find()
	if k == nil && (x.keys == nil || e.now().Sub(x.fetched) >= x.refetchEvery) {
		set, err := x.fetch(ctx, e.client)
		x.fetched = e.now()
		if err != nil {
			return nil, fmt.Errorf("%w: keys of %s: %v", errs.ErrUnavailable, x.cfg.Issuer, err)
		}
		x.keys = set
		k = find()
	}
	if k == nil {
		return nil, errs.Unauthenticated("external token refused: %s has no key %q for %s", x.cfg.Issuer, kid, alg)
	}
	return k.Key, nil
}

func (x *externalIssuer) fetch(ctx context.Context, c *http.Client) (*jose.JSONWebKeySet, error) {
	u := x.cfg.JWKSURL
	if u == "" {
		var disc struct {
			JWKSURI string `json:"jwks_uri"`
		}
		if err := getJSON(ctx, c, strings.TrimSuffix(x.cfg.Issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
			return nil, err
		}
		if disc.JWKSURI == "" {
			return nil, errors.New("its discovery document has no jwks_uri")
		}
		u = disc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, c, u, &set); err != nil {
		return nil, err
	}
	return &set, nil
}

func getJSON(ctx context.Context, c *http.Client, u string, v any) error {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
		return fmt.Errorf("%q is not an http(s) URL", u)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxJWKSBytes {
		return fmt.Errorf("GET %s: more than %d bytes", u, maxJWKSBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: not JSON: %w", u, err)
	}
	return nil
}

// clipClaim shows a claim's value in a refusal, at most 64 characters of
// it (the token is the caller's; the message goes to logs and audit).
func clipClaim(v any) string {
	if v == nil {
		return "missing"
	}
	b, _ := json.Marshal(v)
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
