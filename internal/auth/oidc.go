package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/riggerdev/rigger/internal/errs"
)

// asymmetricAlgs are the ID token signing algorithms rigger accepts: never
// none, never an HMAC algorithm (whose key would be the client secret).
func asymmetricAlgs() []string {
	return []string{
		oidc.RS256, oidc.RS384, oidc.RS512,
		oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512,
		oidc.EdDSA,
	}
}

// OIDCConfig configures OpenID Connect sign-in.
type OIDCConfig struct {
	// IssuerURL is the issuer; its discovery document is read on first use.
	IssuerURL string
	// ClientID and ClientSecret are the client registered with the issuer
	// (the secret is empty for a public client: PKCE alone then).
	ClientID     string
	ClientSecret string
	// Scopes requested; default openid, profile, email.
	Scopes []string
	// HTTPClient talks to the issuer; default a client with a 10 s timeout.
	// Responses are cut at 1 MiB either way.
	HTTPClient *http.Client
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// OIDC is OpenID Connect sign-in: authorization code flow with PKCE (S256),
// state and nonce, the ID token verified by go-oidc (issuer, audience,
// expiry, signature; asymmetric algorithms only), the email used only when
// email_verified is true.
type OIDC struct {
	cfg    OIDCConfig
	client *http.Client
	now    func() time.Time
	used   usedStates

	mu       sync.Mutex
	provider *oidc.Provider
	failed   time.Time // the last failed discovery
}

// NewOIDC checks cfg and returns the provider; the issuer's discovery
// document is fetched on first use (so rigger starts while the issuer is
// down), and again a minute after a failed attempt (requests do not queue
// behind an issuer that hangs).
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	u, err := url.Parse(cfg.IssuerURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errs.Invalid("oidc: issuer URL %q is not an absolute http(s) URL", cfg.IssuerURL)
	}
	if cfg.ClientID == "" {
		return nil, errs.Invalid("oidc: a client id is required")
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	} else if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		return nil, errs.Invalid("oidc: scopes %v must include openid", cfg.Scopes)
	}
	o := &OIDC{cfg: cfg, client: limitedClient(cfg.HTTPClient, 10*time.Second, maxResponseBytes), now: cfg.Now}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

// Name implements RedirectProvider.
func (o *OIDC) Name() string { return "oidc" }

// discovered returns the issuer's metadata, fetching it the first time.
func (o *OIDC) discovered(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	if !o.failed.IsZero() && o.now().Sub(o.failed) < refetchAfter {
		return nil, fmt.Errorf("oidc: the discovery document of %s could not be read at %s; trying again after %s: %w",
			o.cfg.IssuerURL, o.failed.UTC().Format(time.RFC3339), refetchAfter, errs.ErrUnavailable)
	}
	// The key set go-oidc builds keeps this context for its later key
	// fetches, so it must outlive the request.
	bg := oidc.ClientContext(context.WithoutCancel(ctx), o.client)
	p, err := oidc.NewProvider(bg, o.cfg.IssuerURL)
	if err != nil {
		o.failed = o.now()
		return nil, fmt.Errorf("oidc: read the discovery document of %s: %v: %w", o.cfg.IssuerURL, err, errs.ErrUnavailable)
	}
	o.provider = p
	return p, nil
}

func (o *OIDC) oauth2Config(p *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     o.cfg.ClientID,
		ClientSecret: o.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  redirectURL,
		Scopes:       o.cfg.Scopes,
	}
}

// Begin implements RedirectProvider.
func (o *OIDC) Begin(ctx context.Context, redirectURL string) (string, Pending, error) {
	p, err := o.discovered(ctx)
	if err != nil {
		return "", Pending{}, err
	}
	pend, err := newPending(o.Name(), redirectURL, o.now())
	if err != nil {
		return "", Pending{}, err
	}
	u := o.oauth2Config(p, redirectURL).AuthCodeURL(pend.State,
		oidc.Nonce(pend.Nonce), oauth2.S256ChallengeOption(pend.Verifier))
	return u, pend, nil
}

// Finish implements RedirectProvider.
func (o *OIDC) Finish(ctx context.Context, pend Pending, callback url.Values) (ProviderIdentity, error) {
	code, err := checkCallback(o.Name(), o.now(), pend, callback, &o.used)
	if err != nil {
		return ProviderIdentity{}, err
	}
	p, err := o.discovered(ctx)
	if err != nil {
		return ProviderIdentity{}, err
	}
	cctx := oidc.ClientContext(ctx, o.client)
	tok, err := o.oauth2Config(p, pend.RedirectURL).Exchange(cctx, code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return ProviderIdentity{}, errs.Unauthenticated("oidc: the issuer refused the authorization code: %s", clip(strings.TrimSpace(re.ErrorCode+" "+re.ErrorDescription), 200))
		}
		return ProviderIdentity{}, fmt.Errorf("oidc: exchange the authorization code: %v: %w", err, errs.ErrUnavailable)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return ProviderIdentity{}, errs.Unauthenticated("oidc: the token response carries no id_token")
	}
	idt, err := o.verify(cctx, p, raw)
	if err != nil {
		return ProviderIdentity{}, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pend.Nonce)) != 1 {
		return ProviderIdentity{}, errs.Unauthenticated("oidc: the ID token's nonce does not match the sign-in: a replayed ID token")
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return ProviderIdentity{}, errs.Unauthenticated("oidc: the ID token's claims do not parse: %v", err)
	}
	id := ProviderIdentity{Provider: o.Name(), Subject: idt.Subject, Login: c.PreferredUsername, Name: c.Name}
	verified, known := c.emailVerified()
	if c.Email != "" && known && !verified {
		return ProviderIdentity{}, errs.Unauthenticated("oidc: email_verified is false for %s", clip(c.Email, 320))
	}
	if c.Email != "" && verified {
		id.Email = c.Email
		return id, nil
	}
	// The ID token has no (verified) email: ask the userinfo endpoint.
	if p.UserInfoEndpoint() == "" {
		return id, nil
	}
	ui, err := p.UserInfo(cctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return ProviderIdentity{}, fmt.Errorf("oidc: read userinfo: %v: %w", err, errs.ErrUnavailable)
	}
	if ui.Subject != idt.Subject {
		return ProviderIdentity{}, errs.Unauthenticated("oidc: userinfo is about subject %q, the ID token about %q", clip(ui.Subject, 100), clip(idt.Subject, 100))
	}
	var uc idClaims
	if err := ui.Claims(&uc); err != nil {
		return ProviderIdentity{}, errs.Unauthenticated("oidc: the userinfo claims do not parse: %v", err)
	}
	if id.Login == "" {
		id.Login = uc.PreferredUsername
	}
	if id.Name == "" {
		id.Name = uc.Name
	}
	verified, known = uc.emailVerified()
	if uc.Email != "" && known && !verified {
		return ProviderIdentity{}, errs.Unauthenticated("oidc: email_verified is false for %s", clip(uc.Email, 320))
	}
	if uc.Email != "" && verified {
		id.Email = uc.Email
	}
	return id, nil
}

// verify checks the ID token: size, algorithm, signature and expiry by
// go-oidc, then issuer and audience here for clear messages.
func (o *OIDC) verify(ctx context.Context, p *oidc.Provider, raw string) (*oidc.IDToken, error) {
	if len(raw) > MaxTokenBytes {
		return nil, errs.Unauthenticated("oidc: the ID token is %d bytes, more than %d", len(raw), MaxTokenBytes)
	}
	if err := checkAlg("oidc: the ID token", raw, asymmetricAlgs()); err != nil {
		return nil, err
	}
	v := p.VerifierContext(ctx, &oidc.Config{
		ClientID:             o.cfg.ClientID,
		SkipClientIDCheck:    true, // checked below, with a clearer message
		SkipIssuerCheck:      true, // likewise
		SupportedSigningAlgs: asymmetricAlgs(),
		Now:                  o.now,
	})
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		switch {
		case errors.As(err, &exp):
			return nil, errs.Unauthenticated("oidc: the ID token expired at %s", exp.Expiry.UTC().Format(time.RFC3339))
		case strings.Contains(err.Error(), "signature"):
			return nil, errs.Unauthenticated("oidc: the ID token's signature does not verify against the keys of %s", o.cfg.IssuerURL)
		default:
			return nil, errs.Unauthenticated("oidc: the ID token is invalid: %v", err)
		}
	}
	if idt.Issuer != o.cfg.IssuerURL {
		return nil, errs.Unauthenticated("oidc: the ID token's issuer is %q, expected %q", clip(idt.Issuer, 200), o.cfg.IssuerURL)
	}
	if !slices.Contains(idt.Audience, o.cfg.ClientID) {
		return nil, errs.Unauthenticated("oidc: the ID token's audience is %s, expected %s", clip(strings.Join(idt.Audience, ","), 200), o.cfg.ClientID)
	}
	var az struct {
		AZP string `json:"azp"`
	}
	if len(idt.Audience) > 1 {
		if err := idt.Claims(&az); err != nil || az.AZP != o.cfg.ClientID {
			return nil, errs.Unauthenticated("oidc: the ID token has several audiences and its azp %q is not %s", clip(az.AZP, 100), o.cfg.ClientID)
		}
	}
	return idt, nil
}

// idClaims are the claims rigger reads from an ID token or userinfo.
type idClaims struct {
	Email             string `json:"email"`
	EmailVerified     any    `json:"email_verified"`
	PreferredUsername string `json:"preferred_username"`
	Name              string `json:"name"`
}

// emailVerified reads email_verified, which some issuers send as a string.
// known is false when the claim is absent.
func (c idClaims) emailVerified() (verified, known bool) {
	switch v := c.EmailVerified.(type) {
	case bool:
		return v, true
	case string:
		return v == "true", true
	default:
		return false, false
	}
}
