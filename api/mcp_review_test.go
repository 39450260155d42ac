package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/riggerdev/rigger/internal/config"
)

// TestMCPAuditNamesTheToken: a tool call's audit event says how the
// caller was identified: via, the OAuth client and the token's id.
func TestMCPAuditNamesTheToken(t *testing.T) {
	f := newMCPFixture(t, nil, nil)
	callTool(t, f.session(t, "agent"), "catalog_get", map[string]any{"ref": "component:default/svc-a"})
	callTool(t, f.session(t, "reader"), "catalog_get", map[string]any{"ref": "component:default/svc-a"})
	want := map[string]map[string]string{
		"user:default/alice": {"via": "mcp-oauth", "client": "client-1", "tokenId": "jti-1"},
		"service:reader":     {"via": "service-token", "tokenId": "reader"},
	}
	seen := 0
	for _, e := range f.events.snapshot() {
		if e.Action != "mcp.tool.call" {
			continue
		}
		seen++
		for k, v := range want[e.Actor] {
			if e.Details[k] != v {
				t.Errorf("%s's tool call: details[%s] = %q, want %q (%v)", e.Actor, k, e.Details[k], v, e.Details)
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d tool-call events, want 2", seen)
	}
}

// TestMCPAuditRedactsRegisterTarget: catalog_register's target keeps no
// credentials or query in the audit event (object, arguments, reason), as
// the REST route's event does.
func TestMCPAuditRedactsRegisterTarget(t *testing.T) {
	f := newMCPFixture(t, nil, func(c *config.MCP) { c.AllowWrite = true })
	s := f.session(t, "alice")
	const target = "https://bob:hunter22@git.example.invalid/cat/catalog-info.yaml?private_token=glpat-secret9"
	callTool(t, s, "catalog_register", map[string]any{"target": target})
	callTool(t, s, "catalog_register", map[string]any{"type": "nonsense", "target": target})
	seen := 0
	for _, e := range f.events.snapshot() {
		if strings.Contains(fmt.Sprint(e), "hunter22") || strings.Contains(fmt.Sprint(e), "glpat-secret9") {
			t.Errorf("an audit event holds the target's secrets: %+v", e)
		}
		if e.Action == "mcp.tool.call" && e.Details["tool"] == "catalog_register" {
			seen++
			if e.Details["object"] != "https://git.example.invalid/cat/catalog-info.yaml" {
				t.Errorf("object = %q", e.Details["object"])
			}
		}
	}
	if seen != 2 {
		t.Errorf("%d catalog_register events, want 2", seen)
	}
}
