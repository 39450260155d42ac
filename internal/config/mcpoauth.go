package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// MCPOAuth are the keys of mcp that configure rigger's OAuth 2.1
// authorization server for MCP clients (api/mcpoauth.go):
// mcp.registration, mcp.allowedRedirectUris, mcp.clients, mcp.tokenTTL,
// mcp.maxClients. The mcp section holds them as its own fields (the
// decoder has no inline structs) and hands them over as this struct.
type MCPOAuth struct {
	// Registration is open (MCP clients register themselves, RFC 7591,
	// with redirect URIs AllowedRedirectURIs allow) or off (only Clients)
	// [open].
	Registration string `yaml:"registration"`
	// AllowedRedirectURIs are the patterns a self-registered client's
	// redirect URIs must match: scheme and host exactly, port "*" for any,
	// a path ending in "*" for any path below it [loopback only:
	// http://127.0.0.1:*/*, http://localhost:*/*, http://[::1]:*/*].
	AllowedRedirectURIs []string `yaml:"allowedRedirectUris"`
	// Clients are pre-registered public clients.
	Clients []MCPClient `yaml:"clients"`
	// TokenTTL is the lifetime of an MCP client's access token [10m, at
	// most 1h]; its refresh token lasts the sign-in (auth.session.ttl).
	TokenTTL time.Duration `yaml:"tokenTTL"`
	// MaxClients bounds the self-registered clients kept [1000].
	MaxClients int `yaml:"maxClients"`
}

// MCPClient is a pre-registered MCP client (public: PKCE, no secret).
type MCPClient struct {
	ID           string   `yaml:"id"`
	Name         string   `yaml:"name"`
	RedirectURIs []string `yaml:"redirectUris"`
}

// MCP registration modes.
const (
	MCPRegistrationOpen = "open"
	MCPRegistrationOff  = "off"
)

// DefaultMCPOAuth is MCPOAuth's defaults.
func DefaultMCPOAuth() MCPOAuth {
	return MCPOAuth{Registration: MCPRegistrationOpen, TokenTTL: 10 * time.Minute, MaxClients: 1000}
}

// validate checks the keys under prefix (mcp); validateMCP calls it.
func (m MCPOAuth) validate(v *validator, prefix string) {
	v.oneOf(prefix+".registration", m.Registration, MCPRegistrationOpen, MCPRegistrationOff)
	v.positive(prefix+".tokenTTL", m.TokenTTL)
	if m.TokenTTL > time.Hour {
		v.add(prefix+".tokenTTL", "must be at most 1h, got %s", m.TokenTTL)
	}
	if m.MaxClients < 1 {
		v.add(prefix+".maxClients", "must be at least 1, got %d", m.MaxClients)
	}
	for i, p := range m.AllowedRedirectURIs {
		if msg := redirectPatternProblem(p); msg != "" {
			v.add(fmt.Sprintf("%s.allowedRedirectUris[%d]", prefix, i), "%s %s", quote(p), msg)
		}
	}
	seen := map[string]bool{}
	for i, c := range m.Clients {
		p := fmt.Sprintf("%s.clients[%d]", prefix, i)
		if v.required(p+".id", c.ID) && seen[c.ID] {
			v.add(p+".id", "%s is listed twice", quote(c.ID))
		}
		seen[c.ID] = true
		if len(c.RedirectURIs) == 0 {
			v.add(p+".redirectUris", "is required (the exact URIs the client is sent back to)")
		}
		for j, r := range c.RedirectURIs {
			u, err := url.Parse(r)
			if err != nil || u.Scheme == "" || u.Host == "" || u.Fragment != "" || u.User != nil {
				v.add(fmt.Sprintf("%s.redirectUris[%d]", p, j), "%s must be an absolute URL without fragment or user info", quote(r))
			}
		}
	}
}

// redirectPatternProblem says what is wrong with an allowedRedirectUris
// pattern, "" if nothing.
func redirectPatternProblem(p string) string {
	scheme, rest, ok := strings.Cut(p, "://")
	switch {
	case !ok || scheme == "" || rest == "":
		return "must be scheme://host[:port]/path (port and path may end in *)"
	case strings.ContainsAny(rest, "#@?"):
		return "must have no fragment, user info or query"
	case strings.HasPrefix(rest, "*") || strings.Contains(strings.SplitN(rest, "/", 2)[0], "*."):
		return "must name its host exactly (no wildcard host)"
	case scheme == "http" && !loopbackPattern(rest):
		return "uses http for a host that is not loopback: use https (only 127.0.0.1, [::1] and localhost may use http)"
	}
	return ""
}

func loopbackPattern(rest string) bool {
	host := strings.SplitN(rest, "/", 2)[0]
	for _, l := range []string{"127.0.0.1", "localhost", "[::1]"} {
		if host == l || strings.HasPrefix(host, l+":") {
			return true
		}
	}
	return false
}
