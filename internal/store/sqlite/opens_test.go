package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestOpensTogetherOnNewDataDir: stores opening a new data dir at once
// (rigger server and rigger workers started together) all open, though
// each of their first connections turns the new files to WAL mode.
func TestOpensTogetherOnNewDataDir(t *testing.T) {
	ctx := context.Background()
	const rounds, openers = 10, 4
	for round := range rounds {
		path := filepath.Join(t.TempDir(), "rigger.db")
		errs := make(chan error, openers)
		start := make(chan struct{})
		for range openers {
			go func() {
				<-start
				s, err := Open(ctx, path)
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		close(start)
		for range openers {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: %d stores opening a new data dir at once: %v", round, openers, err)
			}
		}
	}
}
