// Package auth identifies the caller of an HTTP request. It only identifies;
// what the caller may do is decided by the permission policy. Deny by default:
// without a configured way to identify, every request is unauthenticated, and
// guest identity exists only for `rigger dev`.
//
// It must not import api, worker, workflows or activities.
package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/riggerdev/rigger/internal/permission"

	"github.com/riggerdev/rigger/internal/errs"
)

// Identity is who made a request.
type Identity struct {
	// Ref is the entity ref of the user or service, e.g. user:default/guest.
	Ref string
	// Service is true for automation (service tokens).
	Service bool
	// Ent are the ownership refs the caller acts with: its own ref plus
	// every group it belongs to, directly or through Group.spec.parent.
	Ent []string
	// Scopes limit what a service token may do.
	Scopes []string
	// Templates and Actions, when set, restrict a service token to these
	// template refs and action ids.
	Templates []string
	Actions   []string
	// MCPScopes are what an MCP client's grant allows (mcp:read,
	// mcp:write), set only when Channel is "mcp" and the caller holds
	// an MCP access token (Via "mcp-oauth"); the /api/mcp layer refuses
	// write tools without mcp:write. Scopes stays a service token's: a
	// user's Scopes are not consulted by the policy.
	MCPScopes []string
	// Client is the OAuth client id of an MCP access token (audit).
	Client string
	// Guest is the unauthenticated read-only caller of rigger server's
	// auth.guest networks (the policy sees it as Rigger::Guest). rigger
	// dev's guest is not one: it is a user, user:default/guest.
	Guest bool
	// Via says how the caller was identified, for audit events: dev-guest,
	// guest, service-token, session, rigger-token, external-jwt,
	// break-glass.
	Via string
	// TokenID names the stored token or session used (audit), if any;
	// for a rigger access token its jti.
	TokenID string
	// Session is the sign-in (session family) a rigger access token was
	// refreshed from: its sid claim.
	Session string
	// Channel is the interface the request came through: "mcp" for
	// /api/mcp, "" for the REST API and the UI (the policy's
	// context.channel is "mcp" or "api").
	Channel string
}

// Authenticator identifies the caller of a request or returns an error that
// unwraps to errs.ErrUnauthenticated.
type Authenticator interface {
	Authenticate(r *http.Request) (Identity, error)
}

// Guest identifies everyone as the guest user. Only `rigger dev` uses it.
type Guest struct {
	// Groups are the groups the guest acts for (its ownership refs besides
	// itself): auth.devGuestGroups, written by whoever runs rigger dev —
	// never read from the catalog, whose authors could name an admin group.
	Groups []string
}

// GuestRef is the identity every request gets in dev mode.
const GuestRef = "user:default/guest"

// Authenticate implements Authenticator.
func (g Guest) Authenticate(*http.Request) (Identity, error) {
	return Identity{Ref: GuestRef, Ent: append([]string{GuestRef}, g.Groups...), Via: "dev-guest"}, nil
}

// ServiceToken is one configured bearer token for automation.
type ServiceToken struct {
	Name   string
	Token  string
	Scopes []string
}

// ServiceTokens authenticates `Authorization: Bearer <token>` against the
// configured tokens in constant time. Only hashes are kept in memory.
type ServiceTokens struct {
	tokens []hashedToken
}

type hashedToken struct {
	sum    [sha256.Size]byte
	name   string
	scopes []string
}

// NewServiceTokens hashes the configured tokens; it does no I/O.
func NewServiceTokens(tokens []ServiceToken) *ServiceTokens {
	st := &ServiceTokens{}
	for _, t := range tokens {
		if t.Token == "" {
			continue
		}
		st.tokens = append(st.tokens, hashedToken{sum: sha256.Sum256([]byte(t.Token)), name: t.Name, scopes: t.Scopes})
	}
	return st
}

// GuestOrTokens is rigger dev's authenticator when service tokens are
// configured: a request without an Authorization header is the guest; one
// with a header must carry a valid token (401 otherwise), so token setups
// can be tried locally.
type GuestOrTokens struct {
	Guest  Guest
	Tokens *ServiceTokens
}

// Authenticate implements Authenticator.
func (g GuestOrTokens) Authenticate(r *http.Request) (Identity, error) {
	if r.Header.Get("Authorization") == "" {
		return g.Guest.Authenticate(r)
	}
	return g.Tokens.Authenticate(r)
}

// Authenticate implements Authenticator.
func (s *ServiceTokens) Authenticate(r *http.Request) (Identity, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return Identity{}, errs.Unauthenticated("missing bearer token: send Authorization: Bearer <token>")
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := -1
	for i := range s.tokens {
		// Compare against every token so timing does not reveal which matched.
		if subtle.ConstantTimeCompare(sum[:], s.tokens[i].sum[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return Identity{}, errs.Unauthenticated("invalid bearer token")
	}
	t := s.tokens[match]
	return Identity{Ref: "service:" + t.name, Service: true, Scopes: t.scopes, Via: "service-token", TokenID: t.name}, nil
}

// Principal is the caller as the permission policy sees it. rigger dev's
// guest is the local developer and acts as a signed-in user; rigger
// server's read-only guest (auth.guest networks) is Rigger::Guest.
func (id Identity) Principal() permission.Principal {
	if id.Guest {
		return permission.Principal{Ref: id.Ref, Guest: true, Channel: id.Channel}
	}
	return permission.Principal{Ref: id.Ref, Ent: id.Ent, Service: id.Service, Scopes: id.Scopes, Channel: id.Channel}
}
