package config

import (
	"strings"
	"testing"
)

// TestMCPValidate: an unknown tool name in mcp.tools and an unknown
// mcp.approval are errors that name the key and the known values.
func TestMCPValidate(t *testing.T) {
	c := Default()
	c.MCP.Tools.Deny = []string{"catalog_query", "rm_rf"}
	c.MCP.Approval = "sometimes"
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{`mcp.tools.deny[1]: "rm_rf" is not a tool of /api/mcp`, "template_run", `mcp.approval: "sometimes" is not one of always, policy, never`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if err := Default().Validate(); err != nil && strings.Contains(err.Error(), "mcp.") {
		t.Errorf("defaults: %v", err)
	}
}

// TestMCPToolsAllows: deny wins over allow; an empty allow list allows all.
func TestMCPToolsAllows(t *testing.T) {
	for _, c := range []struct {
		tools MCPTools
		name  string
		want  bool
	}{
		{MCPTools{}, "search", true},
		{MCPTools{Allow: []string{"search"}}, "search", true},
		{MCPTools{Allow: []string{"search"}}, "catalog_get", false},
		{MCPTools{Allow: []string{"search"}, Deny: []string{"search"}}, "search", false},
	} {
		if got := c.tools.Allows(c.name); got != c.want {
			t.Errorf("%+v allows %s: %t, want %t", c.tools, c.name, got, c.want)
		}
	}
}
