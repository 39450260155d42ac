package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
)

func benchStore(b *testing.B) store.Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "rigger.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSearchQuery: search latency at RIGGER_BENCH_SIZES entities
// (default 100,000) and a tenth as many docs pages.
func BenchmarkSearchQuery(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchSearchQuery(b, benchStore, n, nil) })
	}
}

// BenchmarkSearchIngest: what the search index adds to writing 10,000
// entities.
func BenchmarkSearchIngest(b *testing.B) {
	storetest.BenchSearchIngest(b, benchStore, 10000, nil)
}

// BenchmarkPickerQuery: an entity picker's queries at RIGGER_BENCH_SIZES
// components (default 100,000).
func BenchmarkPickerQuery(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchPickerQuery(b, benchStore, n) })
	}
}

// BenchmarkCatalogRead: an owner's page and a lookup by name at
// RIGGER_BENCH_SIZES components (default 100,000).
func BenchmarkCatalogRead(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchCatalogRead(b, benchStore, n) })
	}
}

// BenchmarkFirstLoad: a first load of RIGGER_BENCH_SIZES components
// (default 100,000), rows built beforehand.
func BenchmarkFirstLoad(b *testing.B) {
	for _, n := range storetest.BenchSizes() {
		b.Run(fmt.Sprint(n), func(b *testing.B) { storetest.BenchFirstLoad(b, benchStore, n) })
	}
}
