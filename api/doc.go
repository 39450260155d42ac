// Package api is rigger's HTTP edge (gin): routes, handlers, request and
// response types, error mapping, and later the embedded web UI.
//
// It only starts, signals and queries workflows through the Temporal client; it
// never runs steps. It must not import worker or activity implementations
// (activities/contract, for names and types, is allowed).
package api
