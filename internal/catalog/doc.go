// Package catalog is Backstage's entity model in Go: reading catalog files
// (YAML or JSON) defensively and within limits, validating entities with
// Backstage's rules and kind schemas, entity refs, the relations that spec
// fields imply, catalog rules (which locations may define which kinds), the
// search rows a store indexes, and the filter/fields language of the
// catalog API.
//
// Everything follows Backstage's behaviour (packages/catalog-model and
// plugins/catalog-backend) unless a comment says otherwise, so files written
// for Backstage are accepted or refused the same way.
//
// It is pure: no network, database, file system, clock or logging, and no
// state between calls; every function is safe for concurrent use. It must
// not import api, worker, workflows, activities or any other rigger package
// except the small helpers internal/yamlsafe, internal/errs and
// internal/jschema (the JSON Schemas of catalog.model), and
// internal/store for the filter types its query API shares with stores.
// Reading locations lives in activities; storage in internal/store.
package catalog
