package e2e

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestClusterWorkerKilledMidStep kills -9 the worker rendering a task's
// slow step: the step runs again on the other worker, the task
// completes, and the steps that had finished did not run again.
func TestClusterWorkerKilledMidStep(t *testing.T) {
	c := startCluster(t, 1, 2, writeClusterTemplate(t, 150))
	c.waitTemplates(t, 1)
	api := c.servers[0].api
	var created struct {
		ID    string
		Error struct{ Message string }
	}
	if code := doJSONAs(t, c.token, "POST", api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/slow-middle"}, &created); code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, created.Error.Message)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var tr taskResp
		doJSONAs(t, c.token, "GET", api+"/api/scaffolder/v2/tasks/"+created.ID, nil, &tr)
		if len(tr.Steps) == 3 && tr.Steps[1].Status == "processing" {
			break
		}
		if tr.Status != "" && tr.Status != "processing" || time.Now().After(deadline) {
			t.Fatalf("step two never started: %+v", tr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The worker rendering the step is the one burning CPU.
	busy, idle := busiestWorker(t, c.workers)
	killed := time.Now()
	if err := busy.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	busy.wait(t, 10*time.Second)
	tr := waitTaskAsWithin(t, c.token, api, created.ID, 3*time.Minute)
	if tr.Status != "completed" {
		t.Fatalf("after the worker was killed: %+v\nsurviving worker:\n%s", tr, tail(idle.stderr.String(), 6000))
	}
	t.Logf("time from kill -9 of the worker to the task's completion on the other: %s", time.Since(killed).Round(time.Millisecond))
	executed := func(p *proc, step string) int {
		return countLogs(p.stderr.String(), map[string]any{"msg": "action executed", "task_id": created.ID, "step_id": step})
	}

	if n := executed(busy, "one") + executed(idle, "one"); n != 1 {
		t.Errorf("step one ran %d times, want exactly 1", n)
	}
	// "action executed" is logged as an action starts: the killed worker
	// started step two, the other started it again as a retry.
	if n := executed(busy, "two"); n == 0 {
		t.Error("the killed worker never started step two: it was not the one running it")
	}
	retried := countLogs(idle.stderr.String(), map[string]any{"msg": "action executed", "task_id": created.ID, "step_id": "two", "attempt": 2})
	if retried != 1 {
		t.Errorf("the surviving worker started step two's attempt 2 %d times, want 1", retried)
	}
	if n, m := executed(idle, "three"), executed(busy, "three"); n != 1 || m != 0 {
		t.Errorf("step three ran %d times on the surviving worker and %d on the killed one, want 1 and 0", n, m)
	}
	text := eventTextAs(t, c.token, api, created.ID)
	for _, want := range []string{"Beginning step One", "wrote one.txt", "after the slow step", "app/f0149.txt", "Run completed successfully"} {
		if !strings.Contains(text, want) {
			t.Errorf("events lack %q:\n%s", want, tail(text, 4000))
		}
	}
}

// busiestWorker samples the CPU time of each worker over a second and
// returns the one that used most (clearly more than the other: it is
// rendering), and the other.
func busiestWorker(t *testing.T, workers []*proc) (busy, other *proc) {
	t.Helper()
	if len(workers) != 2 {
		t.Fatalf("want 2 workers, have %d", len(workers))
	}
	before := []time.Duration{cpuTime(t, workers[0]), cpuTime(t, workers[1])}
	time.Sleep(time.Second)
	used := []time.Duration{cpuTime(t, workers[0]) - before[0], cpuTime(t, workers[1]) - before[1]}
	b := 0
	if used[1] > used[0] {
		b = 1
	}
	// A busy machine gives the renderer a fraction of a core: what tells
	// the workers apart is that the idle one only polls.
	if used[b] < 50*time.Millisecond || used[b] < 2*used[1-b] {
		t.Fatalf("cannot tell which worker is rendering: CPU used in 1s %v", used)
	}
	t.Logf("worker CPU in 1s while step two renders: %v", used)
	return workers[b], workers[1-b]
}

// cpuTime is a process's user+system CPU time.
func cpuTime(t *testing.T, p *proc) time.Duration {
	t.Helper()
	return usageProc{pid: p.cmd.Process.Pid}.cpu(t)
}

// waitTaskAsWithin waits until a task is no longer processing.
func waitTaskAsWithin(t *testing.T, token, api, id string, within time.Duration) taskResp {
	t.Helper()
	deadline := time.Now().Add(within)
	var tr taskResp
	for {
		code := doJSONAs(t, token, "GET", api+"/api/scaffolder/v2/tasks/"+id, nil, &tr)
		if code == http.StatusOK && tr.Status != "processing" {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s still %s after %s (last status %d): %+v", id, tr.Status, within, code, tr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
