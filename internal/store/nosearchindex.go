//go:build benchnosearchindex

package store

// A rigger built with -tags benchnosearchindex writes no search index:
// every store it opens starts with SetSearchIndexing(false), marks the
// database's index for a rebuild by the next release build that opens it,
// and refuses ReindexSearch. It exists for
// one figure, what indexing adds to an ingest end to end (make bench's
// BenchmarkSearchIndexCost runs the same catalog through both builds), and
// must never be shipped: its search finds nothing written by it.
func init() { searchIndexOffInThisBuild = true }
