// Package tasks is the scaffolder's service layer: the task operations
// (create, list, read, events, cancel, retry, the approval hook, dry runs,
// workspace downloads) that every interface — the REST API, the web UI, the
// CLI through it, later MCP — goes through, so none can see or do more than
// another. It talks to the Temporal client and the catalog store and decides
// authorization in one place, through the Authorizer it defines.
//
// It must not import api, worker or activity implementations: it only
// starts, signals, queries and lists workflows; workers run the steps. HTTP
// (routes, parameters, JSON and SSE shapes, status codes) stays in api.
package tasks
