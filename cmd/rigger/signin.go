package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// signIn is what auth.providers configures: browser providers (OIDC,
// GitHub), proxies that sign every request (ALB, IAP, Cloudflare Access)
// and, per provider, the resolver that maps a person to a catalog user.
type signIn struct {
	redirect  map[string]auth.RedirectProvider
	proxies   []*auth.Proxied
	resolvers map[string]*auth.Resolver
}

// resolve maps who a provider says signed in to a catalog user with the
// resolvers configured for that provider.
func (s *signIn) resolve(ctx context.Context, pid auth.ProviderIdentity) (auth.User, error) {
	r, ok := s.resolvers[pid.Provider]
	if !ok {
		return auth.User{}, errs.Unauthenticated("no sign-in resolver for provider %s", pid.Provider)
	}
	return r.Resolve(ctx, pid)
}

// headers are the proxies' assertion headers: a request carrying one
// presents a credential (it is never the read-only guest).
func (s *signIn) headers() []string {
	out := make([]string, len(s.proxies))
	for i, p := range s.proxies {
		out[i] = p.Header
	}
	return out
}

// wrap puts the proxy providers in front of next.
func (s *signIn) wrap(next auth.Authenticator) auth.Authenticator {
	for _, p := range slices.Backward(s.proxies) {
		p.Next = next
		next = p
	}
	return next
}

// newSignIn builds the providers of auth.providers; it does no I/O (an
// OIDC issuer is discovered on first use).
func newSignIn(cfg *config.Config, cat auth.Catalog) (*signIn, error) {
	s := &signIn{redirect: map[string]auth.RedirectProvider{}, resolvers: map[string]*auth.Resolver{}}
	p := cfg.Auth.Providers
	addResolver := func(name string, si config.SignIn) error {
		rc := auth.ResolverConfig{}
		for _, r := range si.Resolvers {
			rc.Strategies = append(rc.Strategies, r.Resolver)
			rc.DangerouslyAllowSignInWithoutUserInCatalog = rc.DangerouslyAllowSignInWithoutUserInCatalog || r.DangerouslyAllowSignInWithoutUserInCatalog
		}
		r, err := auth.NewResolver(cat, rc)
		if err != nil {
			return fmt.Errorf("auth.providers.%s.signIn: %w", name, err)
		}
		s.resolvers[name] = r
		return nil
	}
	var errList []error
	if p.OIDC.IssuerURL != "" {
		o, err := auth.NewOIDC(auth.OIDCConfig{IssuerURL: p.OIDC.IssuerURL, ClientID: p.OIDC.ClientID,
			ClientSecret: p.OIDC.ClientSecret.Reveal(), Scopes: p.OIDC.Scopes})
		if err == nil {
			s.redirect[o.Name()] = o
			err = addResolver(o.Name(), p.OIDC.SignIn)
		}
		errList = append(errList, err)
	}
	if p.GitHub.ClientID != "" {
		g, err := auth.NewGitHub(auth.GitHubConfig{ClientID: p.GitHub.ClientID, ClientSecret: p.GitHub.ClientSecret.Reveal(), UserTokenScopes: p.GitHub.UserTokenScopes,
			EnterpriseURL: p.GitHub.EnterpriseURL})
		if err == nil {
			s.redirect[g.Name()] = g
			err = addResolver(g.Name(), p.GitHub.SignIn)
		}
		errList = append(errList, err)
	}
	addProxy := func(pp auth.ProxyProvider, header string, si config.SignIn) error {
		if err := addResolver(pp.Name(), si); err != nil {
			return err
		}
		s.proxies = append(s.proxies, &auth.Proxied{Provider: pp, Header: header, Resolve: s.resolve})
		return nil
	}
	if p.AWSALB.Region != "" {
		a, err := auth.NewALB(auth.ALBConfig{Region: p.AWSALB.Region, Signer: p.AWSALB.Signer})
		if err == nil {
			err = addProxy(a, auth.ALBHeader, p.AWSALB.SignIn)
		}
		errList = append(errList, err)
	}
	if p.GCPIAP.Audience != "" {
		a, err := auth.NewIAP(auth.IAPConfig{Audience: p.GCPIAP.Audience})
		if err == nil {
			err = addProxy(a, auth.IAPHeader, p.GCPIAP.SignIn)
		}
		errList = append(errList, err)
	}
	if p.CloudflareAccess.TeamDomain != "" {
		a, err := auth.NewCloudflare(auth.CloudflareConfig{TeamDomain: p.CloudflareAccess.TeamDomain, Audience: p.CloudflareAccess.Audience})
		if err == nil {
			err = addProxy(a, auth.CloudflareHeader, p.CloudflareAccess.SignIn)
		}
		errList = append(errList, err)
	}
	return s, errors.Join(errList...)
}

// sessionSecret seals the sign-in cookie and the CLI's grant: auth.session
// .secret, else scaffolder.secretKey (in dev its key file). Every replica
// needs the same one.
func sessionSecret(cfg *config.Config, dev bool) ([]byte, error) {
	if s := cfg.Auth.Session.Secret; s != "" {
		return []byte(s.Reveal()), nil
	}
	key, err := secretKey(cfg, dev)
	if err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("browser sign-in needs auth.session.secret (or scaffolder.secretKey), the same on every replica")
	}
	return key, nil
}

var _ auth.Catalog = (*store.SQL)(nil)
