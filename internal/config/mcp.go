package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MCP configures /api/mcp, the Model Context Protocol endpoint AI agents
// connect to. An agent acts as the caller who connected it and sees only
// what that caller may see; these settings narrow what it may do further.
type MCP struct {
	// Enabled serves /api/mcp [true].
	Enabled bool `yaml:"enabled"`
	// AllowWrite lets agents use the tools that change something
	// (catalog_register, template_run, task_cancel, task_approve,
	// task_reject); without it they are not listed and refused when called
	// [false].
	AllowWrite bool `yaml:"allowWrite"`
	// AllowApprovals lets a person's agent approve or reject a task's
	// approval step; a service token, and a task's creator at the gate its
	// agent's run stopped at, are refused even then [false].
	AllowApprovals bool `yaml:"allowApprovals"`
	// Tools narrow the tools served: names from MCPTools.
	Tools MCPTools `yaml:"tools"`
	// DryRunWindow is how long a template_dry_run lets the same caller
	// template_run the same template with the same values [15m].
	DryRunWindow time.Duration `yaml:"dryRunWindow"`
	// Approval says when a run an agent started stops for a person's
	// approval before its first step with outside effects: always, policy
	// (unless Cedar permits scaffolder.task.runUnattended on the template)
	// or never [always].
	Approval string `yaml:"approval"`
	// MaxSessions bounds the MCP sessions held at once by this replica;
	// one more is refused with 503 until one ends [1000].
	MaxSessions int `yaml:"maxSessions"`
	// MaxSessionsPerUser bounds the sessions one caller (a user, or a
	// service token) holds at once on this replica, so that one agent
	// cannot use up MaxSessions for everyone [20].
	MaxSessionsPerUser int `yaml:"maxSessionsPerUser"`
	// SessionTimeout closes a session idle this long [30m].
	SessionTimeout time.Duration `yaml:"sessionTimeout"`
	// RateLimit bounds tool calls per caller (user or token): a burst,
	// then one per interval.
	RateLimit MCPRateLimit `yaml:"rateLimit"`
	// MaxRequestBytes bounds one request body [1048576].
	MaxRequestBytes int64 `yaml:"maxRequestBytes"`

	// The authorization server of MCP clients (MCPOAuth says what each
	// key does).
	Registration        string        `yaml:"registration"`
	AllowedRedirectURIs []string      `yaml:"allowedRedirectUris"`
	Clients             []MCPClient   `yaml:"clients"`
	TokenTTL            time.Duration `yaml:"tokenTTL"`
	MaxClients          int           `yaml:"maxClients"`
}

// OAuth are mcp's keys of the authorization server of MCP clients.
func (m MCP) OAuth() MCPOAuth {
	return MCPOAuth{Registration: m.Registration, AllowedRedirectURIs: m.AllowedRedirectURIs, Clients: m.Clients,
		TokenTTL: m.TokenTTL, MaxClients: m.MaxClients}
}

// MCPTools are allow and deny lists of tool names; deny wins. An empty
// allow list allows every tool.
type MCPTools struct {
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
}

// MCPRateLimit is a token bucket per caller.
type MCPRateLimit struct {
	// Burst is how many calls a caller may make at once [60].
	Burst int `yaml:"burst"`
	// Interval is how often one more call is allowed after the burst [1s].
	Interval time.Duration `yaml:"interval"`
}

// mcpToolNames are the tools /api/mcp serves, in the order it lists them
// (internal/mcpserver's tests check it serves exactly these).
var mcpToolNames = []string{
	"catalog_query", "catalog_get", "catalog_relations", "catalog_validate", "catalog_register",
	"search", "docs_page", "templates_list", "template_describe", "template_dry_run", "template_run",
	"task_get", "task_logs", "task_cancel", "task_approve", "task_reject",
}

// MCPToolNames returns the names of the tools /api/mcp serves.
func MCPToolNames() []string { return slices.Clone(mcpToolNames) }

// MCPApprovals are the values of mcp.approval.
const (
	MCPApprovalAlways = "always"
	MCPApprovalPolicy = "policy"
	MCPApprovalNever  = "never"
)

// DefaultMCP is mcp's defaults.
func DefaultMCP() MCP {
	return MCP{Enabled: true, DryRunWindow: 15 * time.Minute, Approval: MCPApprovalAlways, MaxSessions: 1000, MaxSessionsPerUser: 20,
		SessionTimeout: 30 * time.Minute, RateLimit: MCPRateLimit{Burst: 60, Interval: time.Second}, MaxRequestBytes: 1 << 20,
		Registration: MCPRegistrationOpen, TokenTTL: 10 * time.Minute, MaxClients: 1000}
}

// Allows says whether the tool lists let name be served.
func (t MCPTools) Allows(name string) bool {
	if slices.Contains(t.Deny, name) {
		return false
	}
	return len(t.Allow) == 0 || slices.Contains(t.Allow, name)
}

func (c *Config) validateMCP(v *validator) {
	m := c.MCP
	for _, l := range []struct {
		p     string
		names []string
	}{{"mcp.tools.allow", m.Tools.Allow}, {"mcp.tools.deny", m.Tools.Deny}} {
		for i, n := range l.names {
			if !slices.Contains(mcpToolNames, n) {
				v.add(fmt.Sprintf("%s[%d]", l.p, i), "%s is not a tool of /api/mcp (they are %s)", quote(n), strings.Join(mcpToolNames, ", "))
			}
		}
	}
	v.positive("mcp.dryRunWindow", m.DryRunWindow)
	v.positive("mcp.sessionTimeout", m.SessionTimeout)
	v.positive("mcp.rateLimit.interval", m.RateLimit.Interval)
	v.oneOf("mcp.approval", m.Approval, MCPApprovalAlways, MCPApprovalPolicy, MCPApprovalNever)
	m.OAuth().validate(v, "mcp")
	if m.MaxSessions < 1 {
		v.add("mcp.maxSessions", "must be at least 1, got %d", m.MaxSessions)
	}
	if m.MaxSessionsPerUser < 1 {
		v.add("mcp.maxSessionsPerUser", "must be at least 1, got %d", m.MaxSessionsPerUser)
	}
	if m.RateLimit.Burst < 1 {
		v.add("mcp.rateLimit.burst", "must be at least 1, got %d", m.RateLimit.Burst)
	}
	if m.MaxRequestBytes < 1024 || m.MaxRequestBytes > 64<<20 {
		v.add("mcp.maxRequestBytes", "must be between 1024 and %d, got %d", 64<<20, m.MaxRequestBytes)
	}
}
