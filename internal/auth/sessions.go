package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
)

// RefreshPrefix starts every refresh token, so secret scanners and logs
// can tell one.
const RefreshPrefix = "rgs_"

// SessionStore keeps refresh-token sessions.
type SessionStore interface {
	CreateSession(ctx context.Context, s store.Session) error
	SessionByHash(ctx context.Context, hash string) (store.Session, error)
	RotateSession(ctx context.Context, oldHash string, next store.Session) error
	RevokeSessionFamily(ctx context.Context, family string, at time.Time) error
}

// Sessions are signed-in users' refresh tokens: opaque random values of
// which only the hash is stored. Each refresh replaces the token by a new
// one; presenting a replaced (or logged-out) token again revokes every
// token of that sign-in, since one of the two holders is a thief.
type Sessions struct {
	store SessionStore
	ttl   time.Duration
	now   func() time.Time
	// Ownership, when set, re-reads the user's groups at every refresh, so
	// a membership removed from the catalog ends within one access token's
	// lifetime, not the session's; a user the catalog no longer holds
	// cannot refresh (unless the session never had groups: a sign-in
	// without a catalog user).
	Ownership func(ctx context.Context, userRef string) (ent []string, found bool, err error)
	// Issuer, when set, learns of every sign-in revoked here, so its
	// access tokens stop on this replica at the next request (the store
	// records the revocation for the other replicas).
	Issuer *Issuer
}

// NewSessions keeps sessions in st; a sign-in lasts ttl (auth.session.ttl)
// however often it is refreshed.
func NewSessions(st SessionStore, ttl time.Duration, now func() time.Time) (*Sessions, error) {
	if st == nil {
		return nil, errors.New("sessions need a store")
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("session lifetime %s must be positive", ttl)
	}
	if now == nil {
		now = time.Now
	}
	return &Sessions{store: st, ttl: ttl, now: now}, nil
}

// hashToken is the stored form of a refresh or service token.
func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:])
}

// Create starts a session for id and returns its refresh token (shown to
// the client once) and when the sign-in ends.
func (s *Sessions) Create(ctx context.Context, id Identity) (string, time.Time, error) {
	if id.Ref == "" || id.Service || id.Guest {
		return "", time.Time{}, errors.New("create session: only a signed-in user has a session")
	}
	now := s.now().UTC()
	tok := RefreshPrefix + randomID(32)
	ss := sessionRecord(id, tok, randomID(12), now, now.Add(s.ttl))
	if err := s.store.CreateSession(ctx, ss); err != nil {
		return "", time.Time{}, fmt.Errorf("create session: %w", err)
	}
	return tok, ss.Expires, nil
}

func sessionRecord(id Identity, tok, family string, now, expires time.Time) store.Session {
	return store.Session{ID: randomID(12), Family: family, Hash: hashToken(tok), UserRef: id.Ref, Ent: id.Ent,
		Created: now, Expires: expires}
}

// Refresh exchanges a refresh token for a new one of the same sign-in and
// returns the user it belongs to. Every refusal unwraps to
// errs.ErrUnauthenticated. An OAuth client's refresh token is refused
// (see RefreshFor).
func (s *Sessions) Refresh(ctx context.Context, tok string) (Identity, string, time.Time, error) {
	return s.RefreshFor(ctx, tok, "")
}

// RefreshFor is Refresh for the grant of OAuth client (an MCP client):
// only that client's refresh tokens are accepted, and the identity is
// the client's (Channel "mcp", its MCPScopes). client "" is a browser's
// or the CLI's sign-in.
func (s *Sessions) RefreshFor(ctx context.Context, tok, client string) (Identity, string, time.Time, error) {
	old, err := s.lookup(ctx, tok)
	if err != nil {
		return Identity{}, "", time.Time{}, err
	}
	if old.Client != client {
		if client == "" {
			return Identity{}, "", time.Time{}, errs.Unauthenticated("this refresh token belongs to an MCP client's grant: it is refreshed at /oauth/token by that client only")
		}
		return Identity{}, "", time.Time{}, errs.Unauthenticated("this refresh token was not issued to client %q", client)
	}
	now := s.now().UTC()
	if !old.Revoked.IsZero() {
		if err := s.revokeFamily(ctx, old.Family, now); err != nil {
			return Identity{}, "", time.Time{}, err
		}
		return Identity{}, "", time.Time{}, errs.Unauthenticated("this refresh token was already used or logged out; every session of that sign-in is now revoked: sign in again")
	}
	if !now.Before(old.Expires) {
		return Identity{}, "", time.Time{}, errs.Unauthenticated("the session expired at %s: sign in again", old.Expires.Format(time.RFC3339))
	}
	ent := old.Ent
	if s.Ownership != nil {
		cur, found, err := s.Ownership(ctx, old.UserRef)
		switch {
		case err != nil:
			return Identity{}, "", time.Time{}, fmt.Errorf("refresh session: %w", err)
		case found:
			ent = cur
		case len(old.Ent) > 1:
			if err := s.revokeFamily(ctx, old.Family, now); err != nil {
				return Identity{}, "", time.Time{}, err
			}
			return Identity{}, "", time.Time{}, errs.Unauthenticated("%s is no longer in the catalog: the session is ended", old.UserRef)
		}
	}
	next := RefreshPrefix + randomID(32)
	ns := store.Session{ID: randomID(12), Family: old.Family, Hash: hashToken(next), UserRef: old.UserRef, Ent: ent,
		Created: now, Expires: old.Expires, Client: old.Client, Scopes: old.Scopes}
	if err := s.store.RotateSession(ctx, old.Hash, ns); err != nil {
		if errors.Is(err, errs.ErrConflict) {
			// Another request refreshed with the same token first.
			if err := s.revokeFamily(ctx, old.Family, now); err != nil {
				return Identity{}, "", time.Time{}, err
			}
			return Identity{}, "", time.Time{}, errs.Unauthenticated("this refresh token was used twice at once; every session of that sign-in is now revoked: sign in again")
		}
		return Identity{}, "", time.Time{}, fmt.Errorf("refresh session: %w", err)
	}
	id := Identity{Ref: old.UserRef, Ent: ent, Via: "session", TokenID: ns.ID, Session: old.Family}
	return grantIdentity(id, old.Client, old.Scopes), next, ns.Expires, nil
}

// Revoke ends the sign-in the refresh token belongs to (logout): every
// token of it stops working.
func (s *Sessions) Revoke(ctx context.Context, tok string) error {
	old, err := s.lookup(ctx, tok)
	if err != nil {
		return err
	}
	return s.revokeFamily(ctx, old.Family, s.now().UTC())
}

// revokeFamily revokes a sign-in's refresh tokens and its access tokens.
func (s *Sessions) revokeFamily(ctx context.Context, family string, at time.Time) error {
	err := s.store.RevokeSessionFamily(ctx, family, at)
	if s.Issuer != nil {
		s.Issuer.SessionRevoked()
	}
	return err
}

// UserOf names the user a refresh token's session belongs to, without
// refreshing it ("" when the token is not one; the refresh then says why).
func (s *Sessions) UserOf(ctx context.Context, tok string) string {
	ss, err := s.lookup(ctx, tok)
	if err != nil {
		return ""
	}
	return ss.UserRef
}

func (s *Sessions) lookup(ctx context.Context, tok string) (store.Session, error) {
	tok = strings.TrimSpace(tok)
	if !strings.HasPrefix(tok, RefreshPrefix) || len(tok) > 256 {
		return store.Session{}, errs.Unauthenticated("not a refresh token (they start with %s)", RefreshPrefix)
	}
	ss, err := s.store.SessionByHash(ctx, hashToken(tok))
	if errors.Is(err, errs.ErrNotFound) {
		return store.Session{}, errs.Unauthenticated("unknown refresh token: sign in again")
	}
	return ss, err
}
