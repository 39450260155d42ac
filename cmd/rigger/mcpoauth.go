package main

import (
	"github.com/riggerdev/rigger/api"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/store"
)

// mcpOAuthDeps is the authorization server of MCP clients from mcp's OAuth
// keys and mcp.allowWrite. It serves only where sign-in is configured
// (auth.signIn): the person signs in to consent.
func mcpOAuthDeps(o config.MCPOAuth, allowWrite bool, st api.MCPOAuthStore) api.MCPOAuthDeps {
	clients := make([]store.OAuthClient, len(o.Clients))
	for i, c := range o.Clients {
		name := c.Name
		if name == "" {
			name = c.ID
		}
		clients[i] = store.OAuthClient{ID: c.ID, Name: name, RedirectURIs: c.RedirectURIs, From: "config"}
	}
	return api.MCPOAuthDeps{Store: st, Registration: o.Registration, AllowedRedirectURIs: o.AllowedRedirectURIs,
		Clients: clients, AllowWrite: allowWrite, TokenTTL: o.TokenTTL, MaxClients: o.MaxClients}
}
