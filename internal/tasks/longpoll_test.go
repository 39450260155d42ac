package tasks

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/workflows"
)

// TestGetWait: a long poll of a running task returns as soon as the task
// changes (here: it ends), returns the task unchanged at its bound, and
// counts against the caller's cap of waiting reads (another caller is not
// held up by it), which is apart from its event streams' cap: neither
// full cap blocks the other kind. Embedded Temporal, real SQLite catalog; the refusal of an unreadable
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
		// The task is processing a moment before its step is: wait until
		// what a long poll watches (statuses of the task and its steps)
		// holds still, or the wait below sees the step start and returns
		// early, rightly.
		prev := ""
		for deadline := time.Now().Add(30 * time.Second); ; {
			task, err := s.Get(ctx, alice, id)
			if err != nil {
				t.Fatal(err)
			}
			p := progress(task)
			if p == prev {
				break
			}
			prev = p
			if time.Now().After(deadline) {
				t.Fatalf("the task never held still: %q", prev)
			}
			time.Sleep(300 * time.Millisecond)
		}
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
		s.streams.maxWaits, s.streams.maxPerClient = 2, 1
		s.streams.mu.Unlock()
		t.Cleanup(func() {
			s.streams.mu.Lock()
			s.streams.maxWaits, s.streams.maxPerClient = MaxWaitsPerClient, MaxStreamsPerClient
			s.streams.mu.Unlock()
		})
		// The caller's one event stream fills its stream cap: waiting
		// reads still have theirs.
		_, st, err := s.Follow(ctx, alice, id)
		if err != nil || st == nil {
			t.Fatalf("an event stream: %v", err)
		}
		defer st.Close()
		if _, _, err := s.Follow(ctx, alice, id); !errors.Is(err, ErrTooManyStreams) {
			t.Fatalf("a second event stream past a cap of 1: %v; want ErrTooManyStreams", err)
		}
		done := make(chan error, 2)
		for range 2 {
			go func() { _, err := s.GetWait(ctx, alice, id, 3*time.Second); done <- err }()
		}
		waitFor(t, "two waiting reads", func() bool {
			s.streams.mu.Lock()
			defer s.streams.mu.Unlock()
			return s.streams.waits[alice.Ref] == 2
		})
		if _, err := s.GetWait(ctx, alice, id, time.Second); !errors.Is(err, ErrTooManyStreams) ||
			!strings.Contains(err.Error(), "user:default/alice holds 2 waiting reads (GET ?wait=, at most 2 at once)") {
			t.Errorf("a third waiting read of a caller allowed two: %v; want ErrTooManyStreams naming the caller and the cap", err)
		}
		s.streams.mu.Lock()
		streams := s.streams.perClient[alice.Ref]
		s.streams.mu.Unlock()
		if streams != 1 {
			t.Errorf("waiting reads counted as event streams: %d streams", streams)
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
			return s.streams.waits[alice.Ref] == 1
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

// TestGetWhileAWorkerHoldsTheRun: while a worker holds a running task's
// workflow task (its steps run in it, as local activities), a read does
// not ask the workflow, which would wait for that task to end: it answers
// with what history knows, here the plan, and does not claim that no
// worker answered. Once the workflow task ends the live state returns.
// Embedded Temporal; the stand-in workflow holds its first task in a local
// activity until the test lets it go.
func TestGetWhileAWorkerHoldsTheRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	c, w := startTemporalWorker(t)
	w.Stop()
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	hold := func(ctx workflow.Context, in workflows.ScaffoldInput) (*workflows.ScaffoldState, error) {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
		if err := workflow.ExecuteLocalActivity(lctx, "test.hold").Get(ctx, nil); err != nil {
			return nil, err
		}
		return standInScaffold(ctx, in)
	}
	w2 := sdkworker.New(c, contract.QueueDefault, sdkworker.Options{})
	w2.RegisterWorkflowWithOptions(hold, workflow.RegisterOptions{Name: workflows.ScaffoldName})
	w2.RegisterActivityWithOptions(func(ctx context.Context) error {
		held <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, activity.RegisterOptions{Name: "test.hold"})
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w2.Stop)
	s := serviceOn(t, c, &testAuthorizer{scope: ListScope{All: true}}, nil, templateEntity("t", "log"))
	alice := auth.Identity{Ref: "user:default/alice"}
	id, _, err := s.Create(t.Context(), alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	<-held
	got, err := s.Get(t.Context(), alice, id)
	close(release)
	if err != nil || got.Status != StatusProcessing || got.WorkerUnavailable || got.State == nil ||
		len(got.State.Steps) != 1 || got.State.Steps[0].Status != "open" || got.User != alice.Ref {
		t.Fatalf("read while a worker holds the run: %+v (%v); want processing, its plan (step log open), no claim that no worker answered", got, err)
	}
	waitFor(t, "the live state", func() bool {
		got, err := s.Get(t.Context(), alice, id)
		return err == nil && got.State != nil && got.State.Steps[0].Status == "" && !got.WorkerUnavailable
	})
}
