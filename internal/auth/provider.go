package auth

// Sign-in: a RedirectProvider (OIDC, GitHub) runs a browser sign-in in two
// steps, Begin and Finish, whose HTTP routes (/api/auth/<provider>/start and
// /callback) live in api/; a ProxyProvider (AWS ALB, GCP IAP, Cloudflare
// Access) verifies the signed assertion a proxy adds to each request. Both
// say who signed in as a ProviderIdentity, which a Resolver maps to a User
// entity of the catalog and its ownership refs.

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"github.com/riggerdev/rigger/internal/credentials"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// ProviderIdentity is what a sign-in provider verified about who signs in.
// A sign-in resolver maps it to a User entity of the catalog.
type ProviderIdentity struct {
	// Provider is the provider's name: oidc, github, awsAlb, gcpIap,
	// cloudflareAccess.
	Provider string
	// Subject is the provider's stable id of the person (the ID token's
	// sub, GitHub's numeric user id, ...).
	Subject string
	// Email is set only when the provider says it is verified.
	Email string
	// Login is the user name at the provider (preferred_username, the
	// GitHub login); empty when the provider has none.
	Login string
	// Name is the display name, if any.
	Name string
	// Token is the provider's access token for the user (GitHub's OAuth
	// token), only to be stored sealed (UserTokens); it never prints.
	Token credentials.Secret
	// TokenScopes are the scopes the provider granted Token, as it wrote
	// them (GitHub: comma-separated). A string keeps the type comparable.
	TokenScopes string
}

// Pending is what must survive from the start of a redirect sign-in to its
// callback. The HTTP layer seals it into a short-lived HttpOnly cookie; it
// holds nothing that is secret once the sign-in is over.
type Pending struct {
	Provider string `json:"provider"`
	// State is echoed by the provider in the callback; it binds the
	// callback to the browser that started the sign-in.
	State string `json:"state"`
	// Nonce is bound into the ID token (OIDC).
	Nonce string `json:"nonce,omitempty"`
	// Verifier is the PKCE code verifier.
	Verifier string `json:"verifier"`
	// RedirectURL is the callback URL the code was issued for.
	RedirectURL string `json:"redirectUrl"`
	// Created is when the sign-in started; a Pending older than
	// PendingMaxAge is refused.
	Created time.Time `json:"created"`
}

// PendingMaxAge is how long a started sign-in may take to come back.
const PendingMaxAge = 10 * time.Minute

// MaxTokenBytes bounds every token and assertion rigger parses.
const MaxTokenBytes = 32 << 10

// maxResponseBytes bounds what rigger reads from a provider's endpoint
// (token, userinfo, user, keys).
const maxResponseBytes = 1 << 20

// RedirectProvider is a sign-in through the browser: Begin sends the user to
// the provider, Finish checks what comes back.
type RedirectProvider interface {
	Name() string
	// Begin returns the provider's authorization URL and what must be kept
	// until the callback.
	Begin(ctx context.Context, redirectURL string) (authURL string, p Pending, err error)
	// Finish checks the callback's state against p (constant time), refuses
	// a Pending older than PendingMaxAge, exchanges the code (with the PKCE
	// verifier), verifies what the provider returned and says who signed
	// in. Every refusal unwraps to errs.ErrUnauthenticated.
	Finish(ctx context.Context, p Pending, callback url.Values) (ProviderIdentity, error)
}

// ProxyProvider identifies the user from a signed assertion an
// authenticating proxy in front of rigger adds to every request.
type ProxyProvider interface {
	Name() string
	// Identify verifies the proxy's assertion on r; every refusal unwraps to
	// errs.ErrUnauthenticated.
	Identify(r *http.Request) (ProviderIdentity, error)
}

var (
	_ RedirectProvider = (*OIDC)(nil)
	_ RedirectProvider = (*GitHub)(nil)
	_ ProxyProvider    = (*ALB)(nil)
	_ ProxyProvider    = (*Assertion)(nil)
)

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// checkCallback is what every redirect provider checks first: the Pending
// belongs to this provider and is fresh, the provider reported no error, the
// state matches in constant time and was not used before.
func checkCallback(name string, now time.Time, p Pending, callback url.Values, used *usedStates) (code string, err error) {
	if p.Provider != name {
		return "", errs.Unauthenticated("the sign-in was started with provider %q, not %q", p.Provider, name)
	}
	if p.State == "" || p.Verifier == "" {
		return "", errs.Unauthenticated("the sign-in state is incomplete: start the sign-in again")
	}
	if age := now.Sub(p.Created); age > PendingMaxAge || age < -time.Minute {
		return "", errs.Unauthenticated("the sign-in was started %s ago, more than %s: start it again", age.Round(time.Second), PendingMaxAge)
	}
	if e := callback.Get("error"); e != "" {
		return "", errs.Unauthenticated("%s refused the sign-in: %s", name, clip(strings.TrimSpace(e+" "+callback.Get("error_description")), 200))
	}
	if subtle.ConstantTimeCompare([]byte(callback.Get("state")), []byte(p.State)) != 1 {
		return "", errs.Unauthenticated("state does not match: a replayed or forged callback")
	}
	code = callback.Get("code")
	if code == "" {
		return "", errs.Unauthenticated("the callback carries no authorization code")
	}
	if !used.claim(p.State, p.Created.Add(PendingMaxAge), now) {
		return "", errs.Unauthenticated("state was already used: a replayed callback")
	}
	return code, nil
}

// usedStates remembers the states of finished callbacks until their Pending
// would expire anyway, so one callback cannot be replayed in this process.
// (The provider's code is single-use too; this refuses the replay before it
// reaches the provider.)
type usedStates struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// maxUsedStates bounds the memory of used states; past it the oldest half
// is forgotten (their Pending expires within PendingMaxAge anyway).
const maxUsedStates = 100_000

func (u *usedStates) claim(state string, expires, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]time.Time{}
	}
	if _, ok := u.seen[state]; ok {
		return false
	}
	if len(u.seen) >= maxUsedStates {
		for s, exp := range u.seen {
			if exp.Before(now) {
				delete(u.seen, s)
			}
		}
	}
	u.seen[state] = expires
	return true
}

// newPending makes the random state, nonce and PKCE verifier of a sign-in.
func newPending(name, redirectURL string, now time.Time) (Pending, error) {
	if redirectURL == "" {
		return Pending{}, errs.Invalid("a sign-in needs the redirect URL of its callback")
	}
	p := Pending{Provider: name, RedirectURL: redirectURL, Created: now.UTC()}
	var err error
	if p.State, err = randomToken(32); err != nil {
		return Pending{}, err
	}
	if p.Nonce, err = randomToken(32); err != nil {
		return Pending{}, err
	}
	if p.Verifier, err = randomToken(32); err != nil {
		return Pending{}, err
	}
	return p, nil
}

// clip shortens s (which may come from outside) for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// jwsHeader reads the protected header of a compact JWS for error messages
// and pre-checks; it verifies nothing. ALB pads its segments, so padding is
// accepted.
func jwsHeader(raw string) (map[string]any, error) {
	first, _, ok := strings.Cut(raw, ".")
	if !ok {
		return nil, fmt.Errorf("not a JWT: no '.' separated segments")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(first, "="))
	if err != nil {
		return nil, fmt.Errorf("not a JWT: the header is not base64url: %w", err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("not a JWT: the header is not a JSON object: %w", err)
	}
	return h, nil
}

// checkAlg refuses a token whose header names an algorithm outside allowed
// (alg none and HMAC algorithms are never allowed by any caller).
func checkAlg(what, raw string, allowed []string) error {
	h, err := jwsHeader(raw)
	if err != nil {
		return errs.Unauthenticated("%s is malformed: %v", what, err)
	}
	alg, _ := h["alg"].(string)
	for _, a := range allowed {
		if alg == a {
			return nil
		}
	}
	return errs.Unauthenticated("%s is signed with alg %q; only %s is accepted", what, clip(alg, 20), strings.Join(allowed, ", "))
}

// limitedClient returns a copy of c (or a default client) whose responses are
// cut at limit bytes: reading past it fails instead of filling memory.
func limitedClient(c *http.Client, timeout time.Duration, limit int64) *http.Client {
	if c == nil {
		c = &http.Client{Timeout: timeout}
	}
	cc := *c
	if cc.Timeout == 0 {
		cc.Timeout = timeout
	}
	rt := cc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	cc.Transport = limitTransport{rt: rt, limit: limit}
	return &cc
}

type limitTransport struct {
	rt    http.RoundTripper
	limit int64
}

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: t.limit, host: r.URL.Host}
	return resp, nil
}

// limitedBody fails a read past its limit (io.LimitReader would silently
// truncate, and a truncated key set or token response must not parse).
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	host string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("the response of %s is larger than the limit", b.host)
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
