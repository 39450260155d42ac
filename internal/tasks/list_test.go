package tasks

import (
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/temporalio/sqlparser"
	"go.temporal.io/api/workflowservice/v1"

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
	s.lists.now = steppingClock() // every list a visibility pass of its own
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

// TestListSharesPasses: lists asked within listReuse of an identical
// list share its visibility pass, and only identical ones: a caller never
// sees a task its scope does not list, however many lists run at once,
// and a task that ended is not listed as running once listReuse has
// passed since the shared pass began.
func TestListSharesPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded Temporal server")
	}
	ctx := t.Context()
	s := testService(t, DefaultAuthorizer{}, nil) // a caller lists its own tasks
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s.lists.now = func() time.Time { return time.Unix(0, clock.Load()) }
	alice, bob := auth.Identity{Ref: "user:default/alice"}, auth.Identity{Ref: "user:default/bob"}
	mine := map[string]string{}
	for _, who := range []auth.Identity{alice, bob} {
		id, _, err := s.Create(ctx, who, CreateRequest{TemplateRef: "template:default/t"})
		if err != nil {
			t.Fatal(err)
		}
		mine[who.Ref] = id
	}
	running := ListOptions{Status: []string{StatusProcessing}, Limit: 100}
	list := func(who auth.Identity) []*Task {
		l, err := s.List(ctx, who, running)
		if err != nil {
			t.Errorf("list for %s: %v", who.Ref, err)
			return nil
		}
		return l.Tasks
	}
	for deadline := time.Now().Add(30 * time.Second); len(list(alice)) == 0 || len(list(bob)) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("visibility did not list the tasks")
		}
		clock.Add(int64(listReuse) + 1) // a fresh pass each try
	}

	// The clock stands still: every list may share; none sees another's task.
	var wg sync.WaitGroup
	for i := range 40 {
		who := []auth.Identity{alice, bob}[i%2]
		wg.Go(func() {
			got := list(who)
			if len(got) != 1 || got[0].ID != mine[who.Ref] || got[0].User != who.Ref || got[0].Status != StatusProcessing {
				t.Errorf("%s lists %+v, want only its own task %s", who.Ref, got, mine[who.Ref])
			}
			got[0].Status = "tampered" // each list has its own copy
		})
	}
	wg.Wait()

	// Alice's task ends; until listReuse has passed since the pass began,
	// her list may still come from it, after that it must not.
	if err := s.Cancel(ctx, alice, mine[alice.Ref]); err != nil {
		t.Fatal(err)
	}
	query := "WorkflowId = " + quote(mine[alice.Ref]) + " AND ExecutionStatus = 'Completed'"
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := s.d.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetExecutions()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("visibility did not see the task end")
		}
	}
	clock.Add(int64(listReuse))
	if got := list(alice); len(got) != 1 || got[0].Status != StatusProcessing {
		t.Errorf("within listReuse alice lists %+v, want the shared pass's (her task running)", got)
	}
	clock.Add(1)
	if got := list(alice); len(got) != 0 {
		t.Errorf("past listReuse alice lists %+v as running, want none (her task ended)", got)
	}
	if got := list(bob); len(got) != 1 || got[0].ID != mine[bob.Ref] {
		t.Errorf("bob lists %+v, want his running task", got)
	}

	// Once listReuse has passed, no pass is held (an idle server keeps no
	// task lists).
	clock.Add(int64(listReuse) + 1)
	s.lists.sweep()
	s.lists.mu.Lock()
	held := len(s.lists.passes)
	s.lists.mu.Unlock()
	if held != 0 {
		t.Errorf("%d passes held after listReuse, want none", held)
	}
}

// steppingClock is a clock that moves past listReuse at every reading.
func steppingClock() func() time.Time {
	var at atomic.Int64
	at.Store(time.Now().UnixNano())
	return func() time.Time { return time.Unix(0, at.Add(int64(time.Second))) }
}

// BenchmarkListRunning is a client polling the running tasks (limit 1, as
// BenchmarkScaffolder's (c) does) while 200 run; its CPU includes the
// embedded Temporal server's visibility work, which runs in this process.
// Every list is a visibility pass of its own (a client polling every 20 ms
// shares some; BenchmarkScaffolder's (c) measures that). The test server
// refreshes its search attribute cache at every read, as rigger dev does
// only in its first 70 s on a new data directory.
func BenchmarkListRunning(b *testing.B) {
	ctx := b.Context()
	s := testService(b, &testAuthorizer{scope: ListScope{All: true}}, nil)
	s.lists.now = steppingClock()
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

// TestQuoteVisibilityLiteral: a value becomes one string literal of
// Temporal's visibility query whatever it holds (a quote or a backslash
// cannot end it early): the query parser Temporal's server uses reads the
// value back, and nothing after it.
func TestQuoteVisibilityLiteral(t *testing.T) {
	for _, v := range []string{"", "user:default/alice", `o'brien`, `a\' OR 1=1 --`, `\`, `x\`, `'`, "line\nbreak", `"double"`} {
		where := "WorkflowId = " + quote(v)
		st, err := sqlparser.Parse("select * from t where " + where)
		if err != nil {
			t.Errorf("quote(%q): %s does not parse: %v", v, where, err)
			continue
		}
		cmp, ok := st.(*sqlparser.Select).Where.Expr.(*sqlparser.ComparisonExpr)
		if !ok {
			t.Errorf("quote(%q): %s is not one comparison", v, where)
			continue
		}
		if lit, ok := cmp.Right.(*sqlparser.SQLVal); !ok || lit.Type != sqlparser.StrVal || string(lit.Val) != v {
			t.Errorf("quote(%q): %s compares with %s, not the value", v, where, sqlparser.String(cmp.Right))
		}
	}
}
