// Package catalog is Backstage's entity model in Go: parsing catalog YAML
// with limits, validation with Backstage's rules, entity refs, the relations
// spec fields imply, catalog rules, the search rows stores index, and the
// filter/fields query language of the catalog API.
//
// It is pure (no network, database or file access) and must not import api,
// worker, workflows or activities. Ingestion (reading locations) lives in
// activities; storage in internal/store.
package catalog
