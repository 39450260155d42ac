package tasks

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

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
		got := waitingRead(t, s, alice, id)
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

// TestWatchEndsFromTheCloseEvent: the watch behind a waiting read gives
// the ended task from the event that ends its run (it carries the run's
// final state), with no second read of the history; the task it gives is
// the one a read gives. Embedded Temporal; the stand-in workflow holds its
// workflow task in a local activity until the read waits, then ends, so
// its last events come in one batch; reverse-history reads (a load's) are
// counted.
func TestWatchEndsFromTheCloseEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	tc, w := startTemporalWorker(t)
	w.Stop()
	c := &readCounter{Client: tc, ws: &reverseReads{WorkflowServiceClient: tc.WorkflowService()}}
	release, held := holdingWorker(t, tc, func(ctx workflow.Context, in workflows.ScaffoldInput) (*workflows.ScaffoldState, error) {
		return &workflows.ScaffoldState{TaskID: in.TaskID, Status: "completed", TemplateRef: in.Plan.Template.Ref, UserRef: in.Plan.UserRef,
			CreatedAt: workflow.GetInfo(ctx).WorkflowStartTime, Steps: []workflows.StepState{{ID: "log", Status: "completed"}}}, nil
	})
	s := serviceOn(t, c, &testAuthorizer{scope: ListScope{All: true}}, nil, templateEntity("t", "log"))
	ctx := t.Context()
	alice := auth.Identity{Ref: "user:default/alice"}
	id, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	<-held
	// The watch's first history read fails as during a frontend restart:
	// it is tried again, not given up for a slow poll of reads.
	c.ws.unavailable.Store(1)
	got := waitingRead(t, s, alice, id)
	before := c.ws.n.Load()
	close(release)
	var task *Task
	select {
	case task = <-got:
	case <-time.After(MaxWait):
		t.Fatal("the waiting read did not return when the task ended")
	}
	if n := c.ws.n.Load() - before; n != 0 {
		t.Errorf("the watch read the history %d more time(s) after the event that ended the run", n)
	}
	if c.ws.unavailable.Load() >= 0 {
		t.Errorf("the watch did not read the history again after its failed read")
	}
	if task == nil || task.Status != StatusCompleted || task.Ended.IsZero() || task.State == nil || task.State.TaskID != id || len(task.State.Steps) != 1 {
		t.Fatalf("the ended task from the watch: %+v; want it completed with its final state", task)
	}
	read, err := s.Get(ctx, alice, id)
	if err != nil {
		t.Fatal(err)
	}
	if read.Status != task.Status || !read.Ended.Equal(task.Ended) || !read.Created.Equal(task.Created) || read.TemplateRef != task.TemplateRef ||
		read.User != task.User || !reflect.DeepEqual(read.State, task.State) {
		t.Errorf("the watch's ended task differs from a read's:\nwatch %+v\nread  %+v", task, read)
	}
}

// holdingWorker runs, on c, a stand-in scaffold workflow that holds its
// first workflow task in a local activity (held says it does) until
// release is closed, then ends as then says.
func holdingWorker(t *testing.T, c client.Client, then func(workflow.Context, workflows.ScaffoldInput) (*workflows.ScaffoldState, error)) (release chan struct{}, held chan struct{}) {
	t.Helper()
	release, held = make(chan struct{}), make(chan struct{}, 1)
	hold := func(ctx workflow.Context, in workflows.ScaffoldInput) (*workflows.ScaffoldState, error) {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: time.Minute})
		if err := workflow.ExecuteLocalActivity(lctx, "test.hold").Get(ctx, nil); err != nil {
			return nil, err
		}
		return then(ctx, in)
	}
	w := sdkworker.New(c, contract.QueueDefault, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(hold, workflow.RegisterOptions{Name: workflows.ScaffoldName})
	w.RegisterActivityWithOptions(func(ctx context.Context) error {
		held <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	}, activity.RegisterOptions{Name: "test.hold"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return release, held
}

// readCounter is a Temporal client whose WorkflowService counts the
// reverse-history reads (reverseReads).
type readCounter struct {
	client.Client
	ws *reverseReads
}

func (c *readCounter) WorkflowService() workflowservice.WorkflowServiceClient { return c.ws }

type reverseReads struct {
	workflowservice.WorkflowServiceClient
	n atomic.Int64
	// unavailable is how many history reads (GetWorkflowExecutionHistory)
	// fail as a restarting frontend's would before one goes through.
	unavailable atomic.Int64
}

func (r *reverseReads) GetWorkflowExecutionHistory(ctx context.Context, in *workflowservice.GetWorkflowExecutionHistoryRequest, opts ...grpc.CallOption) (*workflowservice.GetWorkflowExecutionHistoryResponse, error) {
	if r.unavailable.Add(-1) >= 0 {
		return nil, serviceerror.NewUnavailable("frontend restarting (test)")
	}
	return r.WorkflowServiceClient.GetWorkflowExecutionHistory(ctx, in, opts...)
}

func (r *reverseReads) GetWorkflowExecutionHistoryReverse(ctx context.Context, in *workflowservice.GetWorkflowExecutionHistoryReverseRequest, opts ...grpc.CallOption) (*workflowservice.GetWorkflowExecutionHistoryReverseResponse, error) {
	r.n.Add(1)
	return r.WorkflowServiceClient.GetWorkflowExecutionHistoryReverse(ctx, in, opts...)
}

// TestTransientHistoryError: the history reads the watch tries again are
// the failures a restart, overload or a call's own deadline give, wrapped
// or not; a missing run, a refusal or the caller going away end it.
func TestTransientHistoryError(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{serviceerror.NewUnavailable("restarting"), true},
		{fmt.Errorf("read: %w", serviceerror.NewUnavailable("restarting")), true},
		{serviceerror.NewResourceExhausted(0, "busy"), true},
		{context.DeadlineExceeded, true},
		{serviceerror.NewNotFound("no run"), false},
		{serviceerror.NewPermissionDenied("no", ""), false},
		{serviceerror.NewInvalidArgument("bad token"), false},
		{context.Canceled, false},
		{errors.New("something else"), false},
	} {
		if got := transientHistoryError(c.err); got != c.want {
			t.Errorf("transientHistoryError(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// waitingRead starts a waiting read of task id by who (up to MaxWait),
// returns once it waits, and gives its answer on the channel.
func waitingRead(t *testing.T, s *Service, who auth.Identity, id string) <-chan *Task {
	t.Helper()
	got := make(chan *Task, 1)
	go func() {
		task, err := s.GetWait(t.Context(), who, id, MaxWait)
		if err != nil {
			t.Errorf("waiting read: %v", err)
		}
		got <- task
	}()
	waitFor(t, "the waiting read", func() bool {
		s.streams.mu.Lock()
		defer s.streams.mu.Unlock()
		return s.streams.waits[who.Ref] == 1
	})
	return got
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
	release, held := holdingWorker(t, c, standInScaffold)
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
