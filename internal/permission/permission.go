// Package permission decides what a caller may do: the scope each API route
// needs and whether a subject holds it. The API's middleware and the
// scaffolder's actions (which act for the user a run belongs to) ask the
// same questions here, so an action can never do more than the REST route
// that does the same thing. Deny by default.
//
// Beyond scopes, Cedar policies (cedar.go, loaded from
// permission.policyFiles, or the built-in default.cedar) decide per
// principal and resource. The model, namespace Rigger:
//
//   - principals: Rigger::User::"user:default/alice" (attrs ref, ent: the
//     ownership refs; parents: a Rigger::Group per group ref in ent),
//     Rigger::Service::"<name>" (ref, scopes: the token's scopes),
//     Rigger::Guest::"guest" (the read-only guest of rigger server);
//   - actions: Rigger::Action::"<name>" for each name of Actions;
//   - resources: Rigger::Entity::"<ref>" (ref, kind, namespace, name,
//     owner, type, lifecycle, system, annotations, labels, tags — all
//     lower-cased; templates are entities of kind template),
//     Rigger::Task::"<id>" (createdBy, template, templateOwner),
//     Rigger::ScaffolderAction::"<id>" (id), Rigger::Location::"<id>"
//     (type, target) and Rigger::System::"<name>" (audit, tokens, search).
//
// Policy.Authorize decides one request (admins, permission.admins, are
// allowed everything); Policy.EntityFilter turns the policies on entities
// into a store.Expr so catalog lists are filtered in SQL
// (translate.go). examples/policies/README.md documents it for users.
//
// It must not import api, worker, workflows or activities.
package permission

import (
	"net/http"
	"slices"
	"strings"
)

// Scopes a service token can hold.
const (
	CatalogRead     = "catalog.read"
	CatalogWrite    = "catalog.write"
	ScaffolderRead  = "scaffolder.read"
	ScaffolderRun   = "scaffolder.run"
	ScaffolderAdmin = "scaffolder.admin"
	AuditRead       = "audit.read"
	Admin           = "admin"
	All             = "*"
)

// Grantable lists the scopes a service token may hold (config validates
// tokens against it): catalog.write implies catalog.read, scaffolder.run
// implies scaffolder.read, * is everything.
func Grantable() []string {
	return []string{CatalogRead, CatalogWrite, ScaffolderRead, ScaffolderRun, ScaffolderAdmin, AuditRead, All}
}

// Subject is who acts: a user, or a service limited to its scopes.
type Subject struct {
	Ref     string
	Service bool
	Scopes  []string
	// Ent are a user's ownership refs (its own ref and its groups), for
	// decisions a run's actions take on its behalf (catalog:fetch).
	Ent []string
}

// Allows reports whether s may do what scope guards. Users are not limited
// by scopes (the permission policy decides for them); services hold only
// their scopes.
func (s Subject) Allows(scope string) bool {
	return !s.Service || HasScope(s.Scopes, scope)
}

// RequiredScope is the scope a service token needs for a route (deny by
// default: a route not listed needs "admin"). Reading the catalog or the
// scaffolder needs catalog.read / scaffolder.read; changing them
// catalog.write / scaffolder.run.
func RequiredScope(method, route string) string {
	switch {
	case strings.HasPrefix(route, "/api/catalog/"):
		// analyze-location fetches, so it needs catalog.write like
		// registering does.
		if method == http.MethodGet || strings.HasSuffix(route, "/entities/by-refs") ||
			strings.HasSuffix(route, "/validate-entity") {
			return CatalogRead
		}
		return CatalogWrite
	case strings.HasPrefix(route, "/api/scaffolder/"):
		if method == http.MethodGet {
			return ScaffolderRead
		}
		return ScaffolderRun
	case strings.HasPrefix(route, "/api/techdocs/publish/"):
		return CatalogWrite // a CI job publishing docs it built
	case strings.HasPrefix(route, "/api/techdocs/"), strings.HasPrefix(route, "/api/search/"):
		// Reading docs and searching read the catalog; a sync builds what
		// its caller may read already.
		return CatalogRead
	case strings.HasPrefix(route, "/api/audit/") && method == http.MethodGet:
		return AuditRead
	case route == "/api/auth/whoami":
		return "" // any caller may ask who it is
	case route == "/api/mcp":
		// Each tool needs the scope of the REST route it mirrors
		// (internal/mcpserver checks it per call).
		return ""
	}
	return Admin
}

// HasScope: "*" grants everything, a write scope grants its read scope.
func HasScope(scopes []string, want string) bool {
	return slices.ContainsFunc(scopes, func(s string) bool {
		return s == want || s == All ||
			(want == CatalogRead && s == CatalogWrite) || (want == ScaffolderRead && s == ScaffolderRun)
	})
}

// actionScopes are the scopes of the scaffolder actions that read or write
// rigger's own data: the scope of the REST route that does the same.
// catalog:write is not here: it writes a file into the task's workspace,
// not into the catalog.
var actionScopes = map[string]string{
	"catalog:fetch":    CatalogRead,  // GET /api/catalog/entities/by-name/...
	"catalog:register": CatalogWrite, // POST /api/catalog/locations
}

// ActionScope is the scope an action needs, or "" when it touches none of
// rigger's own data (only the task's workspace or outside systems, whose
// credentials are the action's).
func ActionScope(action string) string { return actionScopes[action] }

// GuestMayUse says whether rigger server's read-only guest may call a
// route at all: reading catalog entities (list, query, by name, by refs,
// facets) and docs. Templates, tasks, locations, tokens and audit are
// never for guests; what entities a guest sees is still the policy's.
func GuestMayUse(method, route string) bool {
	switch {
	case method == http.MethodGet && (route == "/api/catalog/entities" || route == "/api/catalog/entities/by-query" ||
		route == "/api/catalog/entity-facets" || route == "/api/catalog/entities/by-uid/:uid" ||
		strings.HasPrefix(route, "/api/catalog/entities/by-name/")):
		return true
	case method == http.MethodPost && route == "/api/catalog/entities/by-refs":
		return true
	case method == http.MethodGet && strings.HasPrefix(route, "/api/techdocs/") && !strings.HasPrefix(route, "/api/techdocs/sync/"):
		return true
	}
	return false
}
