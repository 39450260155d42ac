package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/catalog"
	"github.com/riggerdev/rigger/internal/store"
	"github.com/riggerdev/rigger/internal/store/storetest"
	"github.com/riggerdev/rigger/internal/testtools"
)

// fileSize is the size of the file at path (0 when there is none).
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// busy keeps a core of this process busy until the returned func is called.
func busy() func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		x := 0
		for {
			select {
			case <-done:
				return
			default:
				for i := range 100000 {
					x += i
				}
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// waitGrown waits up to 10 s for the file at path to reach at least size
// bytes, and fails the test with what it says otherwise.
func waitGrown(t *testing.T, path string, size int64, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fileSize(t, path) < size {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the database file is %d bytes after 10 s, want at least %d", what, fileSize(t, path), size)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLargeBatchCopiedWhenQuiet: a large batch's commit leaves its pages in
// the write-ahead log (the catalog's connections do not copy it into the
// file as they commit), the store does not copy it while the process is
// busy, and copies it once the process is quiet. The rows are readable
// all along.
func TestLargeBatchCopiedWhenQuiet(t *testing.T) {
	// Quiet is this process's CPU here: the machine's (the default) is
	// seldom quiet while other packages' tests run.
	defer func(c func() time.Duration) { quietCPU = c }(quietCPU)
	quietCPU = nil
	path := filepath.Join(t.TempDir(), "rigger.db")
	s := openStore(t, path)
	stop := busy()
	storetest.LoadCatalog(t, s, 3000)
	before, wal := fileSize(t, path), fileSize(t, path+"-wal")
	if wal < 4<<20 || before > wal/4 {
		stop()
		t.Fatalf("after a batch of 3000, the database file is %d bytes and its log %d: the batch was copied into the file as it committed", before, wal)
	}
	time.Sleep(1500 * time.Millisecond)
	during := fileSize(t, path)
	stop()
	if during != before {
		t.Fatalf("the database file grew from %d to %d bytes while the process was busy: the batch was copied beside the work", before, during)
	}
	page, err := s.Query(context.Background(), store.Query{Filter: store.Filter{{{Key: "kind", Values: []string{"component"}}}}, Limit: 1})
	if err != nil || page.TotalItems != 3000 {
		t.Fatalf("before the copy: %d components, %v; want 3000", page.TotalItems, err)
	}
	waitGrown(t, path, wal*3/4, "once the process is quiet")
}

// TestLargeBatchWaitsForOtherProcesses: with the default clock (the
// machine's CPU), a large batch is not copied while another process is
// busy, though this one is quiet: a rigger server reading the file the
// worker loaded would answer beside the copy. WaitMaintenance still copies
// it at once.
func TestLargeBatchWaitsForOtherProcesses(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("other processes' CPU time is read on Linux only (store.MachineCPU)")
	}
	path := filepath.Join(t.TempDir(), "rigger.db")
	s := openStore(t, path)
	storetest.LoadCatalog(t, s, 3000)
	before, wal := fileSize(t, path), fileSize(t, path+"-wal")
	if wal < 4<<20 || before > wal/4 {
		t.Fatalf("after a batch of 3000, the database file is %d bytes and its log %d: the batch was copied into the file as it committed", before, wal)
	}
	// Another process busy; this one idle (the load above is done).
	other := testtools.StartBusyProcess(t)
	time.Sleep(1500 * time.Millisecond)
	during := fileSize(t, path)
	other.Stop()
	if during != before {
		t.Fatalf("the database file grew from %d to %d bytes while another process was busy: the batch was copied beside it", before, during)
	}
	s.(interface{ WaitMaintenance() }).WaitMaintenance()
	if size := fileSize(t, path); size < wal*3/4 {
		t.Fatalf("after WaitMaintenance the database file is %d bytes, its log %d: not copied", size, wal)
	}
}

// TestWritesCopiedSoon: a small write is copied into the file a moment
// after it commits (not in its commit), and WaitMaintenance copies a large
// batch at once, busy process or not.
func TestWritesCopiedSoon(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rigger.db")
	s := openStore(t, path)
	ctx := context.Background()
	stop := busy()
	defer stop()
	storetest.LoadCatalog(t, s, 3000)
	wal := fileSize(t, path+"-wal")
	t0 := time.Now()
	s.(interface{ WaitMaintenance() }).WaitMaintenance()
	if size := fileSize(t, path); size < wal*3/4 {
		t.Fatalf("after WaitMaintenance the database file is %d bytes (%s later), its log %d: not copied", size, time.Since(t0), wal)
	}
	loc, err := s.AddLocation(ctx, store.Location{Type: "file", Target: "/small.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	// That write's copy now, so that it cannot land just after the next
	// one commits (which is slow under load) and be taken for it.
	s.(interface{ WaitMaintenance() }).WaitMaintenance()
	full := fileSize(t, path)
	var small []store.Entity
	for i := range 200 {
		row, err := catalog.Row(catalog.Entity{"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
			"metadata": map[string]any{"name": fmt.Sprintf("small-%03d", i), "description": "a description long enough to fill pages of its own"},
			"spec":     map[string]any{"type": "service", "owner": "team-a", "lifecycle": "production"}})
		if err != nil {
			t.Fatal(err)
		}
		small = append(small, row)
	}
	if _, err := s.ReplaceLocation(ctx, loc.ID, small, store.ReplaceOptions{Orphans: store.OrphanDelete}); err != nil {
		t.Fatal(err)
	}
	if size := fileSize(t, path); size != full {
		t.Fatalf("the database file went from %d to %d bytes as a small write committed: copied in the commit", full, size)
	}
	waitGrown(t, path, full+1, "a small write, the process busy")
	// The copy after the batch took the whole log, so the small write
	// started it over instead of adding to its end.
	if after := fileSize(t, path+"-wal"); after > wal {
		t.Fatalf("the log grew from %d to %d bytes with a small write after a whole copy: it did not start over", wal, after)
	}
}
