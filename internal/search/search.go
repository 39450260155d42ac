// Package search names what finds catalog entities and docs pages for the
// search API: an Engine. The default engine is the catalog store itself
// (store.SQL: SQLite FTS5, or PostgreSQL full text with pg_trgm), whose
// index is written in the transaction that writes each entity or docs
// build, so every replica finds a result the moment it is readable. An
// engine outside the database (OpenSearch, for very large installations)
// would implement Engine too, without changing its callers.
//
// An engine applies the query's access filters (store.SearchQuery.Access
// and DocsAccess) inside its query, before paging, counting and faceting.
// It decides nothing about permissions: internal/catalogsvc builds those
// filters from the policy. It must not import api or catalogsvc.
package search

import (
	"context"

	"github.com/riggerdev/rigger/internal/store"
)

// Engine runs searches.
type Engine interface {
	Search(ctx context.Context, q store.SearchQuery) (store.SearchPage, error)
}

var _ Engine = (store.Store)(nil)
