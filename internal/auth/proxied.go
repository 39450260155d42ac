package auth

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// Proxied signs in every request that carries an authenticating proxy's
// assertion (AWS ALB, GCP IAP, Cloudflare Access): the provider verifies
// its signature, the resolver maps the person to a catalog user. A
// request with an Authorization header, or without the assertion, goes to
// Next: a bearer token always wins, and an unsigned or forged assertion is
// a 401, never a fallback. Resolved users are cached briefly per verified
// identity, so the catalog is not read on every request; a user removed
// from the catalog or from a group is seen within resolvedTTL.
type Proxied struct {
	Provider ProxyProvider
	// Header is the provider's assertion header.
	Header  string
	Resolve func(ctx context.Context, pid ProviderIdentity) (User, error)
	Next    Authenticator

	mu    sync.Mutex
	cache map[ProviderIdentity]resolved
	now   func() time.Time
}

type resolved struct {
	user User
	at   time.Time
}

// resolvedTTL is how long a resolved proxy user is reused; maxResolved
// bounds the cache (it is emptied when full).
const (
	resolvedTTL = time.Minute
	maxResolved = 10000
)

// Authenticate implements Authenticator.
func (p *Proxied) Authenticate(r *http.Request) (Identity, error) {
	if r.Header.Get("Authorization") != "" || r.Header.Get(p.Header) == "" {
		return p.Next.Authenticate(r)
	}
	pid, err := p.Provider.Identify(r)
	if err != nil {
		return Identity{}, err
	}
	u, err := p.user(r.Context(), pid)
	if err != nil {
		return Identity{}, err
	}
	return Identity{Ref: u.Ref, Ent: u.Ent, Via: "proxy:" + p.Provider.Name()}, nil
}

func (p *Proxied) user(ctx context.Context, pid ProviderIdentity) (User, error) {
	now := time.Now
	if p.now != nil {
		now = p.now
	}
	p.mu.Lock()
	c, ok := p.cache[pid]
	p.mu.Unlock()
	if ok && now().Sub(c.at) < resolvedTTL {
		return c.user, nil
	}
	u, err := p.Resolve(ctx, pid)
	if err != nil {
		return User{}, err
	}
	p.mu.Lock()
	if p.cache == nil || len(p.cache) >= maxResolved {
		p.cache = map[ProviderIdentity]resolved{}
	}
	p.cache[pid] = resolved{user: u, at: now()}
	p.mu.Unlock()
	return u, nil
}
