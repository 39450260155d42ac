package catalogsvc

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// heldStore holds every HiddenSet read until release is closed, counting
// the reads running at once.
type heldStore struct {
	store.Store
	release       chan struct{}
	running, peak atomic.Int64
	calls         atomic.Int64
}

func (h *heldStore) HiddenSet(ctx context.Context, access *store.Expr, max int) (int64, map[string]bool, bool, error) {
	h.calls.Add(1)
	n := h.running.Add(1)
	defer h.running.Add(-1)
	for {
		p := h.peak.Load()
		if n <= p || h.peak.CompareAndSwap(p, n) {
			break
		}
	}
	<-h.release
	return h.Store.HiddenSet(ctx, access, max)
}

// Many callers' first pages after a write (each its own access predicate)
// start at most maxHiddenReads background reads of their hidden sets; the
// others are told the set is unknown (their pages ask the store) and start
// theirs once a read ends.
func TestHiddenSetReadsAreBounded(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	held := &heldStore{Store: st, release: make(chan struct{})}
	var h hiddenSets
	access := func(i int) *store.Expr {
		return store.Not(store.Match("metadata.annotations.rigger.io/sensitive", fmt.Sprintf("team-%d", i)))
	}
	for i := range 20 {
		if _, known := h.lookup(ctx, held, nil, access(i), 7); known {
			t.Fatalf("predicate %d: a set never read is known", i)
		}
	}
	time.Sleep(50 * time.Millisecond) // let every started read reach the store
	if got := held.calls.Load(); got != maxHiddenReads {
		t.Fatalf("20 predicates started %d reads; want %d at once", got, maxHiddenReads)
	}
	close(held.release)
	for deadline := time.Now().Add(10 * time.Second); ; {
		known := 0
		for i := range 20 {
			if _, ok := h.lookup(ctx, held, nil, access(i), 1); ok {
				known++
			}
		}
		if known == 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 sets read after 10s", known)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if p := held.peak.Load(); p > maxHiddenReads {
		t.Fatalf("%d reads ran at once; want at most %d", p, maxHiddenReads)
	}
}
