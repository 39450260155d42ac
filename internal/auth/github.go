package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/riggerdev/rigger/internal/credentials"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/riggerdev/rigger/internal/errs"
)

// GitHubConfig configures GitHub OAuth sign-in.
type GitHubConfig struct {
	// ClientID and ClientSecret of the OAuth app.
	ClientID     string
	ClientSecret string
	// EnterpriseURL is a GitHub Enterprise Server, e.g.
	// https://github.example.com (web there, API under /api/v3); empty
	// means github.com.
	EnterpriseURL string
	// UserTokenScopes are OAuth scopes asked for besides read:user and
	// user:email, for templates that act with the user's own token
	// (requestUserCredentials' additionalScopes.github, e.g. repo).
	UserTokenScopes []string
	// WebURL and APIURL override the derived base URLs (tests).
	WebURL, APIURL string
	HTTPClient     *http.Client
	Now            func() time.Time
}

// GitHub is GitHub OAuth sign-in: the code flow with state and PKCE, then
// the user (GET /user) and its verified primary email (GET /user/emails); a
// user without one signs in by login only.
type GitHub struct {
	cfg    GitHubConfig
	client *http.Client
	now    func() time.Time
	used   usedStates
}

// NewGitHub checks cfg; it does no I/O.
func NewGitHub(cfg GitHubConfig) (*GitHub, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errs.Invalid("github: clientId and clientSecret are required")
	}
	base := "https://github.com"
	api := "https://api.github.com"
	if cfg.EnterpriseURL != "" {
		u, err := url.Parse(cfg.EnterpriseURL)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, errs.Invalid("github: enterpriseUrl %q is not an https URL", cfg.EnterpriseURL)
		}
		base = strings.TrimRight(cfg.EnterpriseURL, "/")
		api = base + "/api/v3"
	}
	if cfg.WebURL == "" {
		cfg.WebURL = base
	}
	if cfg.APIURL == "" {
		cfg.APIURL = api
	}
	cfg.WebURL, cfg.APIURL = strings.TrimRight(cfg.WebURL, "/"), strings.TrimRight(cfg.APIURL, "/")
	g := &GitHub{cfg: cfg, client: limitedClient(cfg.HTTPClient, 10*time.Second, maxResponseBytes), now: cfg.Now}
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// Name implements RedirectProvider.
func (g *GitHub) Name() string { return "github" }

func (g *GitHub) oauth2Config(redirectURL string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     g.cfg.ClientID,
		ClientSecret: g.cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   g.cfg.WebURL + "/login/oauth/authorize",
			TokenURL:  g.cfg.WebURL + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: redirectURL,
		Scopes:      append([]string{"read:user", "user:email"}, g.cfg.UserTokenScopes...),
	}
}

// Begin implements RedirectProvider.
func (g *GitHub) Begin(_ context.Context, redirectURL string) (string, Pending, error) {
	p, err := newPending(g.Name(), redirectURL, g.now())
	if err != nil {
		return "", Pending{}, err
	}
	p.Nonce = "" // GitHub issues no ID token
	return g.oauth2Config(redirectURL).AuthCodeURL(p.State, oauth2.S256ChallengeOption(p.Verifier)), p, nil
}

// Finish implements RedirectProvider.
func (g *GitHub) Finish(ctx context.Context, p Pending, callback url.Values) (ProviderIdentity, error) {
	code, err := checkCallback(g.Name(), g.now(), p, callback, &g.used)
	if err != nil {
		return ProviderIdentity{}, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.client)
	tok, err := g.oauth2Config(p.RedirectURL).Exchange(ctx, code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return ProviderIdentity{}, errs.Unauthenticated("github: GitHub refused the authorization code: %s", clip(strings.TrimSpace(re.ErrorCode+" "+re.ErrorDescription), 200))
		}
		return ProviderIdentity{}, fmt.Errorf("github: exchange the authorization code: %v: %w", err, errs.ErrUnavailable)
	}
	var user struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if status, err := g.get(ctx, tok.AccessToken, "/user", &user); err != nil {
		return ProviderIdentity{}, err
	} else if status != http.StatusOK {
		return ProviderIdentity{}, fmt.Errorf("github: GET /user answered %d: %w", status, errs.ErrUnavailable)
	}
	if user.ID <= 0 || user.Login == "" {
		return ProviderIdentity{}, errs.Unauthenticated("github: GET /user returned no id or login")
	}
	id := ProviderIdentity{Provider: g.Name(), Subject: strconv.FormatInt(user.ID, 10), Login: user.Login, Name: user.Name,
		Token: credentials.NewSecret(tok.AccessToken), TokenScopes: scopeOf(tok)}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	status, err := g.get(ctx, tok.AccessToken, "/user/emails", &emails)
	switch {
	case err != nil:
		return ProviderIdentity{}, err
	case status == http.StatusForbidden || status == http.StatusNotFound:
		// The token may not read emails (an app without the permission):
		// the login alone then.
		return id, nil
	case status != http.StatusOK:
		return ProviderIdentity{}, fmt.Errorf("github: GET /user/emails answered %d: %w", status, errs.ErrUnavailable)
	}
	for _, e := range emails {
		if e.Primary && e.Verified && e.Email != "" {
			id.Email = e.Email
		}
	}
	return id, nil
}

// get GETs an API path with the user's token and decodes a 200 answer into v.
func (g *GitHub) get(ctx context.Context, token, path string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.cfg.APIURL+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("github: GET %s: %v: %w", path, err, errs.ErrUnavailable)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return 0, fmt.Errorf("github: GET %s: %v: %w", path, err, errs.ErrUnavailable)
	}
	return resp.StatusCode, nil
}

// scopeOf is the "scope" GitHub's token answer granted.
func scopeOf(tok *oauth2.Token) string {
	raw, _ := tok.Extra("scope").(string)
	return raw
}

// SplitScopes splits a provider's scope list (commas or spaces).
func SplitScopes(raw string) []string {
	return strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' })
}
