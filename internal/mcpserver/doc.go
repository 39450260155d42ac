// Package mcpserver is Rigger's Model Context Protocol server: the tools
// and resources AI agents use through /api/mcp. Every tool calls the
// service layer (internal/catalogsvc, internal/tasks) as the caller who
// connected the agent, so an agent sees and does no more than that caller
// through the REST API; the rails of mcp: in rigger.yaml (read-only by
// default, tool lists, a dry run before a run, a person's approval before
// an agent's run reaches outside) narrow it further.
//
// It holds no HTTP: api mounts it (api/mcp.go) behind the same
// authentication as the REST API and hands each request's caller over in
// the SDK's TokenInfo. It must not import api, worker or activity
// implementations, and it implements no catalog or scaffolder operation
// itself.
package mcpserver
