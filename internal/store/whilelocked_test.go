package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

var errLocked = errors.New("database is locked")

func lockedStore() *SQL {
	return &SQL{d: Dialect{Name: "test", Busy: func(err error) bool { return errors.Is(err, errLocked) }}}
}

// TestWhileLocked: a step of Open that finds the lock held runs again
// until it succeeds; another error ends it at once; past lockWaitMax, or
// when the context ends, it fails saying what it waited for.
func TestWhileLocked(t *testing.T) {
	s := lockedStore()
	ctx := context.Background()

	calls := 0
	err := s.whileLocked(ctx, "migrate", func(context.Context) error {
		if calls++; calls < 3 {
			return errLocked
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("a lock released after two tries: %v after %d calls; want success on the third", err, calls)
	}

	other := errors.New("no such table")
	calls = 0
	if err := s.whileLocked(ctx, "migrate", func(context.Context) error { calls++; return other }); !errors.Is(err, other) || calls != 1 {
		t.Fatalf("another error: %v after %d calls; want it at once", err, calls)
	}

	defer func(d time.Duration) { lockWaitMax = d }(lockWaitMax)
	lockWaitMax = 300 * time.Millisecond
	err = s.whileLocked(ctx, "rebuild the search index", func(context.Context) error { return errLocked })
	if !errors.Is(err, errLocked) || !strings.Contains(err.Error(), "while this one waited to rebuild the search index") {
		t.Fatalf("a lock never released: %v; want the lock error, saying what it waited for", err)
	}

	lockWaitMax = time.Minute
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	err = s.whileLocked(cctx, "migrate", func(context.Context) error { return errLocked })
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errLocked) || !strings.Contains(err.Error(), "waiting to migrate") {
		t.Fatalf("the context ended while waiting: %v; want its error and the lock's", err)
	}
}
