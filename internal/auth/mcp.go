package auth

import (
	"context"

	"slices"
	"strings"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// MCP clients act as the person who connected them, through rigger's own
// OAuth 2.1 authorization server (api/mcpoauth.go). Their access tokens
// are rigger access tokens (same issuer, keys and revocation) whose
// audience is MCPResource instead of Audience and whose claims mark the
// channel: Verify refuses them, so they work on MCPPath only
// (VerifyRequest). Their refresh tokens are sessions bound to the client
// (RefreshFor): /api/auth/refresh refuses them.
//
// Where the grant's scopes appear: Identity.MCPScopes (mcp:read,
// mcp:write), with Identity.Channel "mcp", Via ViaMCPOAuth and
// Identity.Client. Identity.Scopes stays empty for them.
const (
	// MCPPath is the MCP endpoint, the only route MCP tokens open.
	MCPPath = "/api/mcp"
	// ChannelMCP is Identity.Channel for MCP clients.
	ChannelMCP = "mcp"
	// ScopeMCPRead lets an MCP client use read-only tools.
	ScopeMCPRead = "mcp:read"
	// ScopeMCPWrite lets it use write tools too (with mcp.allowWrite).
	ScopeMCPWrite = "mcp:write"
	// DefaultMCPTokenTTL is how long an MCP client's access token lasts.
	DefaultMCPTokenTTL = 10 * time.Minute
)

// IsMCPPath says whether path is MCPPath or below it.
func IsMCPPath(path string) bool {
	return path == MCPPath || strings.HasPrefix(path, MCPPath+"/")
}

// MCPResource is the MCP endpoint's resource identifier (RFC 8707/9728)
// and the audience of MCP access tokens: <server.baseUrl>/api/mcp.
func (i *Issuer) MCPResource() string { return strings.TrimRight(i.o.URL, "/") + MCPPath }

// NewGrantFamily names a new sign-in (session family) before it starts,
// so an authorization code can record it when redeemed.
func NewGrantFamily() string { return randomID(12) }

// CreateGrant starts an OAuth client's grant for id: a session of its own
// (family), lasting the session lifetime, whose refresh tokens only
// RefreshFor(client) accepts. It returns the first refresh token.
func (s *Sessions) CreateGrant(ctx context.Context, id Identity, client string, scopes []string, family string) (string, time.Time, error) {
	if id.Ref == "" || id.Service || id.Guest || client == "" || family == "" {
		return "", time.Time{}, errs.Invalid("create grant: a signed-in user, a client and a family are needed")
	}
	now := s.now().UTC()
	tok := RefreshPrefix + randomID(32)
	ss := sessionRecord(id, tok, family, now, now.Add(s.ttl))
	ss.Client, ss.Scopes = client, slices.Clone(scopes)
	if err := s.store.CreateSession(ctx, ss); err != nil {
		return "", time.Time{}, err
	}
	return tok, ss.Expires, nil
}

// Peek says who a browser's refresh token (the rigger_refresh cookie)
// signed in, without rotating it: an unknown, spent, expired or MCP
// client's token is refused (errs.ErrUnauthenticated).
func (s *Sessions) Peek(ctx context.Context, tok string) (Identity, error) {
	ss, err := s.lookup(ctx, tok)
	switch {
	case err != nil:
		return Identity{}, err
	case !ss.Revoked.IsZero() || ss.Client != "":
		return Identity{}, errs.Unauthenticated("this browser's session was refreshed, logged out or is not a browser's: sign in again")
	case !s.now().Before(ss.Expires):
		return Identity{}, errs.Unauthenticated("the session expired: sign in again")
	}
	return Identity{Ref: ss.UserRef, Ent: ss.Ent, Via: "session", Session: ss.Family}, nil
}

// grantIdentity marks the identity a client's session refreshed to.
func grantIdentity(id Identity, client string, scopes []string) Identity {
	if client == "" {
		return id
	}
	id.Channel, id.Via, id.Client, id.MCPScopes = ChannelMCP, ViaMCPOAuth, client, slices.Clone(scopes)
	return id
}

// RevokeFamily ends a sign-in by its family (session and access tokens),
// e.g. the grant of an authorization code presented twice.
func (s *Sessions) RevokeFamily(ctx context.Context, family string) error {
	return s.revokeFamily(ctx, family, s.now().UTC())
}

// RevokeFor ends the grant a refresh token of client belongs to (RFC
// 7009). A token of another client or of a browser is left alone and
// reported as not found (errs.ErrNotFound).
func (s *Sessions) RevokeFor(ctx context.Context, tok, client string) error {
	ss, err := s.lookup(ctx, tok)
	if err != nil {
		return errs.NotFound("unknown refresh token")
	}
	if ss.Client != client || client == "" {
		return errs.NotFound("the refresh token was not issued to client %q", client)
	}
	return s.revokeFamily(ctx, ss.Family, s.now().UTC())
}

// VerifyMCP checks an MCP client's access token (its revocation too).
func (i *Issuer) VerifyMCP(ctx context.Context, token string) (Identity, error) {
	id, err := i.verify(ctx, token)
	if err == nil && id.Channel != ChannelMCP {
		return Identity{}, errs.Unauthenticated("not an MCP client's access token")
	}
	return id, err
}

// RandomToken is n random bytes, base64url: codes, CSRF values, ids.
func RandomToken(n int) string { return randomID(n) }
