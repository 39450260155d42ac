package config

import (
	"strings"
	"testing"
	"time"
)

func TestMCPOAuthValidate(t *testing.T) {
	problems := func(m MCPOAuth) string {
		var v validator
		m.validate(&v, "mcp")
		var out []string
		for _, p := range v.problems.list {
			out = append(out, p.Path+": "+p.Message)
		}
		return strings.Join(out, "\n")
	}
	if got := problems(DefaultMCPOAuth()); got != "" {
		t.Fatalf("defaults: %s", got)
	}
	ok := DefaultMCPOAuth()
	ok.AllowedRedirectURIs = []string{"https://agent.example/oauth/*", "http://127.0.0.1:*/*", "http://localhost:8080/cb"}
	ok.Clients = []MCPClient{{ID: "desktop", RedirectURIs: []string{"http://127.0.0.1:5000/cb"}}}
	if got := problems(ok); got != "" {
		t.Fatalf("valid: %s", got)
	}
	for name, tc := range map[string]struct {
		mutate func(*MCPOAuth)
		want   string
	}{
		"registration":  {func(m *MCPOAuth) { m.Registration = "closed" }, `mcp.registration: "closed" is not one of open, off`},
		"ttl":           {func(m *MCPOAuth) { m.TokenTTL = 2 * time.Hour }, "mcp.tokenTTL: must be at most 1h"},
		"max clients":   {func(m *MCPOAuth) { m.MaxClients = 0 }, "mcp.maxClients: must be at least 1"},
		"http remote":   {func(m *MCPOAuth) { m.AllowedRedirectURIs = []string{"http://agent.example/*"} }, "mcp.allowedRedirectUris[0]: \"http://agent.example/*\" uses http"},
		"wildcard host": {func(m *MCPOAuth) { m.AllowedRedirectURIs = []string{"https://*.example/*"} }, "no wildcard host"},
		"no scheme":     {func(m *MCPOAuth) { m.AllowedRedirectURIs = []string{"127.0.0.1:*/*"} }, "must be scheme://host"},
		"client no id":  {func(m *MCPOAuth) { m.Clients = []MCPClient{{RedirectURIs: []string{"http://127.0.0.1/cb"}}} }, "mcp.clients[0].id: is required"},
		"client twice": {func(m *MCPOAuth) {
			m.Clients = []MCPClient{{ID: "a", RedirectURIs: []string{"http://127.0.0.1/cb"}}, {ID: "a", RedirectURIs: []string{"http://127.0.0.1/cb"}}}
		}, "mcp.clients[1].id: \"a\" is listed twice"},
		"client no uri":   {func(m *MCPOAuth) { m.Clients = []MCPClient{{ID: "a"}} }, "mcp.clients[0].redirectUris: is required"},
		"client fragment": {func(m *MCPOAuth) { m.Clients = []MCPClient{{ID: "a", RedirectURIs: []string{"http://127.0.0.1/cb#x"}}} }, "mcp.clients[0].redirectUris[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			m := DefaultMCPOAuth()
			tc.mutate(&m)
			if got := problems(m); !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
