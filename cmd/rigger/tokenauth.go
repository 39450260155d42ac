package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/netguard"
	"github.com/riggerdev/rigger/internal/store"
)

// tokenAuth builds what identifies API callers once the store is open:
// rigger access tokens (with scaffolder.secretKey and server.baseUrl),
// sessions, stored service tokens, external JWT access and the config's
// service tokens, behind one auth.Chain. base is authenticator()'s
// choice, which it refines: in dev the guest stays the default.
//
// Sign-in providers come in front: a proxy's signed assertion
// (auth.Proxied) and, through the browser or the CLI, OIDC and GitHub
// (api.SignInDeps, sessions of the token issuer). rigger server's
// read-only guest (auth.guest) is the last resort of a request that
// presents no credential at all.
func tokenAuth(ctx context.Context, cfg *config.Config, st store.Store, m mode, base auth.Authenticator, logger *slog.Logger) (auth.Authenticator, api.TokenDeps, api.SignInDeps, error) {
	a, deps, err := tokenChain(ctx, cfg, st, m, base, logger)
	if err != nil {
		return nil, deps, api.SignInDeps{}, err
	}
	si, err := newSignIn(cfg, st)
	if err != nil {
		return nil, deps, api.SignInDeps{}, err
	}
	if deps.Sessions != nil {
		// Every refresh re-reads the user's groups from the catalog.
		owners, err := auth.NewResolver(st, auth.ResolverConfig{})
		if err != nil {
			return nil, deps, api.SignInDeps{}, err
		}
		deps.Sessions.Ownership = owners.Ownership
	}
	var sd api.SignInDeps
	if len(si.redirect) > 0 {
		if deps.Issuer == nil || deps.Sessions == nil {
			return nil, deps, sd, errors.New("browser sign-in (auth.providers.oidc, github) needs rigger access tokens: set scaffolder.secretKey and server.baseUrl")
		}
		secret, err := sessionSecret(cfg, m == modeDev)
		if err != nil {
			return nil, deps, sd, err
		}
		sealer, err := auth.NewSealer(secret)
		if err != nil {
			return nil, deps, sd, fmt.Errorf("auth.session.secret: %w", err)
		}
		sd = api.SignInDeps{Providers: si.redirect, Resolve: si.resolve, Sealer: sealer}
		if _, ok := si.redirect["github"]; ok {
			if sd.UserTokens, err = userTokens(cfg, st, m == modeDev); err != nil {
				return nil, deps, sd, err
			}
		}
	}
	a = si.wrap(a)
	if g := cfg.Auth.Guest; m == modeServer && g.Access != "" {
		if a, err = auth.NewNetworkGuest(a, g.Networks, si.headers()...); err != nil {
			return nil, deps, sd, err
		}
	}
	return a, deps, sd, nil
}

func tokenChain(ctx context.Context, cfg *config.Config, st store.Store, m mode, base auth.Authenticator, logger *slog.Logger) (auth.Authenticator, api.TokenDeps, error) {
	deps := api.TokenDeps{Admins: cfg.Permission.Admins, SecureCookies: m != modeDev}
	chain := auth.Chain{Config: serviceTokens(cfg)}
	names := make([]string, 0, len(cfg.Auth.ServiceTokens))
	for _, t := range cfg.Auth.ServiceTokens {
		names = append(names, t.Name)
	}
	chain.Stored = auth.NewStoredTokens(st, names, logger.With("component", "service-tokens"), nil)
	deps.Stored = chain.Stored

	iss, err := issuer(ctx, cfg, st, m == modeDev, logger)
	if err != nil {
		return nil, deps, err
	}
	if iss != nil {
		chain.Issuer, deps.Issuer = iss, iss
		if deps.Sessions, err = auth.NewSessions(st, cfg.Auth.Session.TTL, nil); err != nil {
			return nil, deps, err
		}
		deps.Sessions.Issuer = iss // a logout here ends its access tokens here at once
	}
	if len(cfg.Auth.ExternalAccess) > 0 {
		if chain.External, err = externalAccess(cfg); err != nil {
			return nil, deps, err
		}
	}
	// rigger dev: no token is the guest; a token must be one rigger
	// issued, stored or was configured with.
	switch b := base.(type) {
	case auth.Guest:
		return auth.GuestOr{Guest: b, Auth: chain}, deps, nil
	case auth.GuestOrTokens:
		return auth.GuestOr{Guest: b.Guest, Auth: chain}, deps, nil
	}
	return chain, deps, nil
}

// issuer signs rigger's access tokens with keys in the database, sealed
// with scaffolder.secretKey (in dev its key file); nil, with a warning,
// when the server has no secret key or no server.baseUrl.
func issuer(ctx context.Context, cfg *config.Config, st store.Store, dev bool, logger *slog.Logger) (*auth.Issuer, error) {
	key, err := secretKey(cfg, dev)
	if err != nil {
		return nil, fmt.Errorf("rigger tokens: %w", err)
	}
	if key == nil || cfg.Server.BaseURL == "" {
		logger.Warn("rigger access tokens are off: they need scaffolder.secretKey (to seal their signing keys) and server.baseUrl (their issuer)")
		return nil, nil
	}
	iss, err := auth.NewIssuer(ctx, auth.IssuerOptions{Store: st, DataKey: key, URL: cfg.Server.BaseURL,
		TTL: cfg.Auth.Tokens.TTL, RotateEvery: cfg.Auth.Tokens.KeyRotation, Logger: logger.With("component", "tokens")})
	if err != nil {
		return nil, fmt.Errorf("rigger tokens: %w", err)
	}
	return iss, nil
}

// externalAccess trusts auth.externalAccess's issuers; their keys are
// fetched only from their own hosts (and jwksUrl's), through the
// SSRF-safe client.
func externalAccess(cfg *config.Config) (*auth.External, error) {
	var hosts []string
	list := make([]auth.ExternalIssuer, 0, len(cfg.Auth.ExternalAccess))
	for _, x := range cfg.Auth.ExternalAccess {
		for _, raw := range []string{x.Issuer, x.JWKSURL} {
			if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
				hosts = append(hosts, u.Hostname())
			}
		}
		list = append(list, auth.ExternalIssuer{Issuer: x.Issuer, JWKSURL: x.JWKSURL, Audience: x.Audience,
			SubjectPrefix: x.SubjectPrefix, Scopes: x.Scopes, Claims: x.Claims})
	}
	client := netguard.NewClient(netguard.Policy{AllowedHosts: hosts, Setting: "auth.externalAccess", Timeout: 10 * time.Second})
	ext, err := auth.NewExternal(list, client, nil)
	if err != nil {
		return nil, errors.New("auth.externalAccess: " + err.Error())
	}
	return ext, nil
}

// userTokens keeps users' own GitHub tokens sealed with
// scaffolder.secretKey (in dev its key file); nil without a key.
func userTokens(cfg *config.Config, st store.Store, dev bool) (*auth.UserTokens, error) {
	key, err := secretKey(cfg, dev)
	if err != nil || key == nil {
		return nil, err
	}
	return auth.NewUserTokens(st, key, nil)
}
