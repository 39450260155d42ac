package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// stillClock is a clock that does not move: every pass may be shared.
func stillClock() func() time.Time {
	at := time.Now()
	return func() time.Time { return at }
}

// blockingPass is a visibility pass that runs until its context ends,
// saying on started that it began and on ended how its context ended.
func blockingPass(started chan<- struct{}, ended chan<- error) func(context.Context) ([]*Task, error) {
	return func(ctx context.Context) ([]*Task, error) {
		started <- struct{}{}
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	}
}

// TestListPassEndsWithItsLastWaiter (review 34 L3): a shared pass runs on
// while one list waits for it, is cancelled when the last one leaves, and
// is not shared after that: the next list starts a pass of its own.
func TestListPassEndsWithItsLastWaiter(t *testing.T) {
	ls := &listShare{now: stillClock()}
	started, ended := make(chan struct{}, 4), make(chan error, 4)
	pass := blockingPass(started, ended)
	ctx1, cancel1 := context.WithCancel(t.Context())
	ctx2, cancel2 := context.WithCancel(t.Context())
	errc := make(chan error, 2)
	go func() { _, err := ls.tasks(ctx1, "k", pass); errc <- err }()
	<-started
	go func() { _, err := ls.tasks(ctx2, "k", pass); errc <- err }()
	waitWaiters(t, ls, "k", 2)
	cancel1()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the list whose caller left: %v, want canceled", err)
	}
	select {
	case <-ended:
		t.Fatal("the pass was cancelled while a list still waited for it")
	default:
	}
	cancel2()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the second list whose caller left: %v", err)
	}
	// Cancelled, not ended by listPassTimeout.
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("the pass ended with %v after its last waiter left, want cancelled then", err)
	}
	// A list of the same key starts anew rather than share the abandoned
	// pass's cancellation.
	tasksOK := func(context.Context) ([]*Task, error) { return []*Task{{ID: "a"}}, nil }
	if got, err := ls.tasks(t.Context(), "k", tasksOK); err != nil || len(got) != 1 || got[0].ID != "a" {
		t.Errorf("a list after the pass was abandoned: %v, %v; want a pass of its own", got, err)
	}
}

// waitWaiters waits until key's pass has n lists waiting for it.
func waitWaiters(t *testing.T, ls *listShare, key string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		ls.mu.Lock()
		p := ls.passes[key]
		got := 0
		if p != nil {
			got = p.waiters
		}
		ls.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pass %s has %d waiters, want %d", key, got, n)
		}
	}
}

// TestListPassesCapped (review 34 L3): at most maxSharedListPasses shared
// passes run at once; a list past the cap runs its pass unshared, on its
// caller's context (ending when the caller leaves), and none is started
// in the background for it.
func TestListPassesCapped(t *testing.T) {
	ls := &listShare{now: stillClock()}
	started, ended := make(chan struct{}, maxSharedListPasses+1), make(chan error, maxSharedListPasses+1)
	pass := blockingPass(started, ended)
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, maxSharedListPasses)
	for i := range maxSharedListPasses {
		go func() { _, err := ls.tasks(ctx, fmt.Sprint("k", i), pass); errc <- err }()
		<-started
	}
	// One more, with another filter: its pass runs on its caller's
	// context, which this test ends.
	ctxOver, cancelOver := context.WithCancel(t.Context())
	var overCtx context.Context
	over := func(ctx context.Context) ([]*Task, error) {
		overCtx = ctx
		ls.mu.Lock()
		running, held := ls.running, len(ls.passes)
		ls.mu.Unlock()
		if running != maxSharedListPasses || held != maxSharedListPasses {
			t.Errorf("past the cap: %d shared passes running, %d held; want %d (no new one)", running, held, maxSharedListPasses)
		}
		cancelOver()
		return nil, ctx.Err()
	}
	if _, err := ls.tasks(ctxOver, "over", over); !errors.Is(err, context.Canceled) || overCtx.Err() == nil {
		t.Errorf("a list past the cap: %v; want its pass on its own context, ended with it", err)
	}
	ls.mu.Lock()
	_, shared := ls.passes["over"]
	ls.mu.Unlock()
	if shared {
		t.Error("a list past the cap left a shared pass")
	}
	cancel()
	for range maxSharedListPasses {
		<-errc
		<-ended
	}
	// The passes done, lists share again.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		ls.mu.Lock()
		running := ls.running
		ls.mu.Unlock()
		if running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d shared passes still counted running after they ended", running)
		}
	}
	if _, err := ls.tasks(t.Context(), "again", func(context.Context) ([]*Task, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	ls.mu.Lock()
	_, shared = ls.passes["again"]
	ls.mu.Unlock()
	if !shared {
		t.Error("under the cap again, a list's pass is not shared")
	}
}

// TestListPassPanicIsItsError (review 34 L3): a panic in a shared pass
// (it runs outside the request's recovery) is the pass's error for every
// list waiting for it, not the end of the process; it is not shared with
// lists that come later.
func TestListPassPanicIsItsError(t *testing.T) {
	ls := &listShare{now: stillClock()}
	panics := func(context.Context) ([]*Task, error) { panic("a page of visibility went wrong") }
	if _, err := ls.tasks(t.Context(), "k", panics); err == nil || !strings.Contains(err.Error(), "a page of visibility went wrong") {
		t.Fatalf("a pass that panicked: %v, want its panic as the error", err)
	}
	if got, err := ls.tasks(t.Context(), "k", func(context.Context) ([]*Task, error) { return []*Task{{ID: "a"}}, nil }); err != nil || len(got) != 1 {
		t.Errorf("a list after the pass that panicked: %v, %v; want a pass of its own", got, err)
	}
	// Past the cap the pass runs on the caller's goroutine: the same.
	if _, err := runListPass(t.Context(), panics); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("an unshared pass that panicked: %v", err)
	}
}
