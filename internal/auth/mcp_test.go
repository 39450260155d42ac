package auth

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/riggerdev/rigger/internal/errs"
)

// TestMCPTokensOnlyOnMCPPath: an MCP client's token verifies on /api/mcp
// only, with its channel, scopes and client; a REST token everywhere.
func TestMCPTokensOnlyOnMCPPath(t *testing.T) {
	ctx := context.Background()
	i := newTestIssuer(t, testDB(t, filepath.Join(t.TempDir(), "r.db")), newClock())
	mcp := alice
	mcp.Channel, mcp.MCPScopes, mcp.Client, mcp.Session = ChannelMCP, []string{ScopeMCPRead}, "mcp_c", "fam"
	tok, _, err := i.IssueTTL(ctx, mcp, DefaultMCPTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	rest, _, err := i.Issue(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/catalog/entities", "/api/mcpx", "/api/auth/whoami", "/"} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		if _, err := (Chain{Issuer: i}).Authenticate(r); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), "accepted only on /api/mcp") {
			t.Fatalf("MCP token on %s: %v", path, err)
		}
	}
	for _, path := range []string{"/api/mcp", "/api/mcp/sse"} {
		r := httptest.NewRequest("POST", path, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		id, err := (Chain{Issuer: i}).Authenticate(r)
		if err != nil || id.Channel != ChannelMCP || id.Via != ViaMCPOAuth || id.Client != "mcp_c" || id.Session != "fam" ||
			len(id.MCPScopes) != 1 || id.MCPScopes[0] != ScopeMCPRead || len(id.Scopes) != 0 || id.Ref != alice.Ref {
			t.Fatalf("MCP token on %s: %+v %v", path, id, err)
		}
		r.Header.Set("Authorization", "Bearer "+rest)
		if id, err := i.Authenticate(r); err != nil || id.Channel != "" {
			t.Fatalf("REST token on %s: %+v %v", path, id, err)
		}
	}
	if _, err := i.Verify(ctx, tok); err == nil {
		t.Fatal("Verify accepted an MCP token")
	}
	if id, err := i.VerifyMCP(ctx, tok); err != nil || id.Client != "mcp_c" {
		t.Fatalf("VerifyMCP: %+v %v", id, err)
	}
	if _, err := i.VerifyMCP(ctx, rest); err == nil {
		t.Fatal("VerifyMCP accepted a REST token")
	}
}

// TestMCPTokenClaimsForged: tokens signed with the real key but whose
// audience and channel disagree are refused, each saying why.
func TestMCPTokenClaimsForged(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	i := newTestIssuer(t, testDB(t, filepath.Join(t.TempDir(), "r.db")), c)
	i.mu.Lock()
	k, err := i.signingKeyLocked(ctx)
	i.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	sign := func(aud []string, extra tokenClaims) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), k.kid))
		if err != nil {
			t.Fatal(err)
		}
		std := jwt.Claims{Issuer: testIssuerURL, Audience: aud, Subject: alice.Ref, ID: randomID(8),
			IssuedAt: jwt.NewNumericDate(c.Now()), Expiry: jwt.NewNumericDate(c.Now().Add(time.Minute))}
		tok, err := jwt.Signed(signer).Claims(std).Claims(extra).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	res := i.MCPResource()
	for name, tc := range map[string]struct {
		tok  string
		want string
	}{
		"both audiences":           {sign([]string{Audience, res}, tokenClaims{}), "names both"},
		"MCP audience, no channel": {sign([]string{res}, tokenClaims{}), `does not include "rigger"`},
		"channel, REST audience":   {sign([]string{Audience}, tokenClaims{Channel: ChannelMCP}), "must be exactly"},
		"channel, two audiences":   {sign([]string{res, Audience}, tokenClaims{Channel: ChannelMCP}), "must be exactly"},
		"unknown channel":          {sign([]string{Audience}, tokenClaims{Channel: "ui"}), "unknown channel"},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest("GET", MCPPath, nil)
			if _, err := i.VerifyRequest(r, tc.tok); !errors.Is(err, errs.ErrUnauthenticated) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v (want %q)", err, tc.want)
			}
		})
	}
}

// TestGrantSessionsBoundToClient: a client's grant refreshes for that
// client only, never at the browser's refresh, and the browser's session
// never at the client's; revocation by another client leaves it alone.
func TestGrantSessionsBoundToClient(t *testing.T) {
	ctx := context.Background()
	s, err := NewSessions(testDB(t, filepath.Join(t.TempDir(), "r.db")), time.Hour, newClock().Now)
	if err != nil {
		t.Fatal(err)
	}
	browser, _, err := s.Create(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.Peek(ctx, browser); err != nil || id.Ref != alice.Ref {
		t.Fatalf("peek: %+v %v", id, err)
	}
	grant, _, err := s.CreateGrant(ctx, alice, "mcp_a", []string{ScopeMCPRead}, NewGrantFamily())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Peek(ctx, grant); err == nil {
		t.Fatal("Peek accepted a client's grant as a browser session")
	}
	if _, _, _, err := s.Refresh(ctx, grant); err == nil || !strings.Contains(err.Error(), "MCP client's grant") {
		t.Fatalf("REST refresh of a grant: %v", err)
	}
	if _, _, _, err := s.RefreshFor(ctx, grant, "mcp_b"); err == nil || !strings.Contains(err.Error(), `not issued to client "mcp_b"`) {
		t.Fatalf("another client's refresh: %v", err)
	}
	if _, _, _, err := s.RefreshFor(ctx, browser, "mcp_a"); err == nil {
		t.Fatal("a client refreshed the browser's session")
	}
	if err := s.RevokeFor(ctx, grant, "mcp_b"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("another client's revocation: %v", err)
	}
	id, next, _, err := s.RefreshFor(ctx, grant, "mcp_a")
	if err != nil || id.Channel != ChannelMCP || id.Via != ViaMCPOAuth || id.Client != "mcp_a" || len(id.MCPScopes) != 1 || next == grant {
		t.Fatalf("the client's refresh: %+v %v", id, err)
	}
	if err := s.RevokeFor(ctx, next, "mcp_a"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.RefreshFor(ctx, next, "mcp_a"); err == nil {
		t.Fatal("a revoked grant refreshed")
	}
	if _, err := s.Peek(ctx, browser); err != nil {
		t.Fatalf("revoking the grant ended the browser's session: %v", err)
	}
}
