package tasks

import (
	"errors"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/auth"
)

// TestGetWait: a long poll of a running task returns as soon as the task
// changes (here: it ends), returns the task unchanged at its bound, and
// counts against the caller's stream cap (another caller is not held up by
// it). Embedded Temporal, real SQLite catalog; the refusal of an unreadable
// task is in TestAuthorizerDecidesEveryOperation ("wait").
func TestGetWait(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	ctx := t.Context()
	s := testService(t, &testAuthorizer{scope: ListScope{All: true}}, nil)
	alice, bob := auth.Identity{Ref: "user:default/alice"}, auth.Identity{Ref: "user:default/bob"}
	id, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, alice, id, StatusProcessing)

	t.Run("bound", func(t *testing.T) {
		start := time.Now()
		got, err := s.GetWait(ctx, alice, id, 200*time.Millisecond)
		if err != nil || got.Status != StatusProcessing {
			t.Fatalf("a running task that does not change: %+v, %v; want it returned processing at the bound", got, err)
		}
		if waited := time.Since(start); waited < 200*time.Millisecond {
			t.Errorf("a running task that does not change was returned after %s, before the bound", waited)
		}
	})

	t.Run("cap per caller", func(t *testing.T) {
		s.streams.mu.Lock()
		s.streams.maxPerClient = 2
		s.streams.mu.Unlock()
		t.Cleanup(func() {
			s.streams.mu.Lock()
			s.streams.maxPerClient = MaxStreamsPerClient
			s.streams.mu.Unlock()
		})
		done := make(chan error, 2)
		for range 2 {
			go func() { _, err := s.GetWait(ctx, alice, id, 3*time.Second); done <- err }()
		}
		waitFor(t, "two waiting reads", func() bool {
			s.streams.mu.Lock()
			defer s.streams.mu.Unlock()
			return s.streams.perClient[alice.Ref] == 2
		})
		if _, err := s.GetWait(ctx, alice, id, time.Second); !errors.Is(err, ErrTooManyStreams) {
			t.Errorf("a third waiting read of a caller allowed two: %v; want ErrTooManyStreams", err)
		}
		if got, err := s.GetWait(ctx, bob, id, 100*time.Millisecond); err != nil || got.Status != StatusProcessing {
			t.Errorf("another caller's waiting read: %+v, %v; want it served", got, err)
		}
		for range 2 {
			if err := <-done; err != nil {
				t.Errorf("a waiting read within the cap: %v", err)
			}
		}
	})

	t.Run("change", func(t *testing.T) {
		got := make(chan *Task, 1)
		go func() {
			task, err := s.GetWait(ctx, alice, id, MaxWait)
			if err != nil {
				t.Errorf("waiting read: %v", err)
			}
			got <- task
		}()
		waitFor(t, "the waiting read", func() bool {
			s.streams.mu.Lock()
			defer s.streams.mu.Unlock()
			return s.streams.perClient[alice.Ref] == 1
		})
		if err := s.Cancel(ctx, alice, id); err != nil {
			t.Fatal(err)
		}
		select {
		case task := <-got:
			if task == nil || task.Status == StatusProcessing {
				t.Fatalf("the waiting read returned %+v; want the ended task", task)
			}
		case <-time.After(MaxWait - 5*time.Second):
			t.Fatal("the waiting read did not return when the task ended")
		}
	})
}

// waitFor polls cond until it holds, failing after 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
