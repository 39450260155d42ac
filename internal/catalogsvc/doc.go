// Package catalogsvc is the catalog's service layer: the catalog operations
// (list, query, read by name, uid or refs, facets, ancestry, delete and
// refresh of entities, validation, the locations: list, read, register,
// dry run, analyze, delete, and search over entities and docs pages) that
// every interface — the REST API, the web UI, the CLI through it, later
// MCP — goes through, so none can see or do more than another. It decides authorization for them in one place, with the
// permission policy: reads are filtered in SQL (the policy translated to a
// store.Expr) so paging and counts see only what the caller may read, an
// entity or location the caller may not read is "not found", and relations
// to unreadable entities are dropped.
//
// It must not import api, worker or activity implementations: it reads and
// writes the store and only starts, signals and terminates workflows
// through the Temporal client; workers do the reading of locations. HTTP
// (routes, parameters, cursors, JSON shapes, status codes, audit events,
// rate limits) stays in api.
package catalogsvc
