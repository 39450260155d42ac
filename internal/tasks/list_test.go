package tasks

import (
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/templates"
	"github.com/riggerdev/rigger/workflows"
)

// TestListStatusNewestRun: a status filter matches a task's newest run and
// the task is created when its first run started. A task whose first run
// completed and whose second run is running lists once, as processing,
// with the first run's start, and not among the completed; a task with
// one completed run lists among the completed only.
func TestListStatusNewestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	ctx := t.Context()
	s := testService(t, &testAuthorizer{scope: ListScope{All: true}}, nil)
	alice := auth.Identity{Ref: "user:default/alice"}
	again, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	once, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{again, once} {
		if err := s.Cancel(ctx, alice, id); err != nil { // the stand-in completes
			t.Fatal(err)
		}
	}
	list := func(status ...string) map[string]*Task {
		t.Helper()
		l, err := s.List(ctx, alice, ListOptions{Status: status, Limit: 100})
		if err != nil {
			t.Fatalf("list %v: %v", status, err)
		}
		if l.Total != len(l.Tasks) {
			t.Errorf("list %v: total %d for %d tasks", status, l.Total, len(l.Tasks))
		}
		m := map[string]*Task{}
		for _, task := range l.Tasks {
			if m[task.ID] != nil {
				t.Errorf("list %v: task %s listed twice", status, task.ID)
			}
			m[task.ID] = task
		}
		return m
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("visibility did not catch up: %s", what)
			}
		}
	}
	waitFor("both tasks completed", func() bool { return len(list(StatusCompleted)) == 2 })
	first := list(StatusCompleted)[again].Created

	// A second run of the same task, as a retry starts one.
	in := workflows.ScaffoldInput{TaskID: again, Plan: templates.Plan{UserRef: alice.Ref,
		Template: templates.PlanTemplate{Ref: "template:default/t"}, Steps: []templates.PlanStep{{ID: "log", Action: "debug:log"}}}}
	if err := s.start(ctx, client.StartWorkflowOptions{ID: again}, in, alice.Ref); err != nil {
		t.Fatal(err)
	}
	waitFor("the second run running", func() bool { return list(StatusProcessing)[again] != nil })

	running := list(StatusProcessing, "open")
	if len(running) != 1 || running[again] == nil {
		t.Fatalf("processing lists %v, want only the task run again", running)
	}
	if got := running[again]; !got.Created.Equal(first) || got.Status != StatusProcessing || !got.Ended.IsZero() {
		t.Errorf("the task run again: created %v (first run started %v), status %s, ended %v; want the first run's start, processing, not ended",
			got.Created, first, got.Status, got.Ended)
	}
	if done := list(StatusCompleted); len(done) != 1 || done[once] == nil {
		t.Errorf("completed lists %v, want only the task that ran once (the other's newest run is running)", done)
	}
	if both := list(StatusCompleted, StatusProcessing); len(both) != 2 || both[again].Status != StatusProcessing || both[once].Status != StatusCompleted {
		t.Errorf("completed or processing lists %v, want both, each with its newest run's status", both)
	}
}

// BenchmarkListRunning is a client polling the running tasks (limit 1, as
// BenchmarkScaffolder's (c) does) while 200 run; its CPU includes the
// embedded Temporal server's visibility work, which runs in this process.
func BenchmarkListRunning(b *testing.B) {
	ctx := b.Context()
	s := testService(b, &testAuthorizer{scope: ListScope{All: true}}, nil)
	alice := auth.Identity{Ref: "user:default/alice"}
	const n = 200
	for range n {
		if _, _, err := s.Create(ctx, alice, CreateRequest{TemplateRef: "template:default/t"}); err != nil {
			b.Fatal(err)
		}
	}
	o := ListOptions{Status: []string{"open", StatusProcessing}, Limit: 1}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		l, err := s.List(ctx, alice, o)
		if err != nil {
			b.Fatal(err)
		}
		if l.Total == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("visibility lists %d running tasks, want %d", l.Total, n)
		}
	}
	cpu0 := processCPU(b)
	b.ResetTimer()
	for b.Loop() {
		if l, err := s.List(ctx, alice, o); err != nil || l.Total != n {
			b.Fatalf("list: %d tasks, %v", l.Total, err)
		}
	}
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// processCPU is this process's user and system CPU time so far (the load
// of other processes on the machine does not count in it, as it does in
// wall time).
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
