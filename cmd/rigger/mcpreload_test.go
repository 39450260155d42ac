package main

import (
	"context"
	"slices"
	"testing"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/config"
	"github.com/riggerdev/rigger/internal/mcpserver"
)

// TestMCPReloadHook: a reload hands the new mcp settings to the running
// MCP server; the settings that take a restart are not among the live
// keys, so a reload changing them is refused.
func TestMCPReloadHook(t *testing.T) {
	cur := config.Default()
	srv := mcpserver.New(mcpserver.Deps{}, cur.MCP)
	p := liveParts{actions: contract.NewRegistry(nil), mcp: func() *mcpserver.Server { return srv }}
	next := config.Default()
	next.MCP.AllowWrite = true
	next.MCP.Tools.Deny = []string{"search"}
	applied := false
	for _, h := range p.hooks() {
		if h.Name != "mcp" {
			continue
		}
		apply, _, err := h.Prepare(context.Background(), cur, next)
		if err != nil {
			t.Fatal(err)
		}
		if err := apply(context.Background()); err != nil {
			t.Fatal(err)
		}
		applied = true
		for _, k := range []string{"mcp.sessionTimeout", "mcp.rateLimit", "mcp.maxRequestBytes"} {
			if slices.Contains(h.Keys, k) {
				t.Errorf("%s is live, but the transport reads it once", k)
			}
		}
	}
	if got := srv.Config(); !applied || !got.AllowWrite || !slices.Equal(got.Tools.Deny, []string{"search"}) {
		t.Errorf("after the reload: applied %t, %+v", applied, got)
	}
}
