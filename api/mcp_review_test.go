package api

import (
	"testing"
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
