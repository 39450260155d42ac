package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/riggerdev/rigger/internal/searchattr"
	"github.com/riggerdev/rigger/internal/testtools"
	"github.com/riggerdev/rigger/workflows"
)

// upgradeFrom is the older build TestClusterWorkerUpgrade hands running
// tasks over from: the last commit before the workflow change
// waiting-status (workflows/scaffold.go). Move it to the commit before
// the next change of the workflow's shape.
const upgradeFrom = "2ae48d3d326724e63326be523f1b903ca7b0bb08"

// waitingStatusVersion is the TemporalChangeVersion value of a run on the
// path of the change waiting-status.
const waitingStatusVersion = "waiting-status-1"

// oneVersionVersion is the TemporalChangeVersion value of a run that took
// the changes before one-version, waiting-status among them, at once.
const oneVersionVersion = "one-version-1"

// upgradeTemplate waits, in the middle of its step loop, for a callback.
const upgradeTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: upgrade}
spec:
  owner: group:default/team-a
  type: service
  steps:
    - {id: before, name: Before, action: fs:write, input: {path: before.txt, content: written before the wait}}
    - {id: wait, name: Wait, action: rigger:wait-for, input: {for: callback, timeout: 1h, message: the test calls back}}
    - {id: after, name: After, action: debug:log, input: {message: "after the wait, ticket ${{ steps.wait.output.payload.ticket }}", listWorkspace: true}}
`

// TestClusterWorkerUpgrade: tasks started on a worker of an older build
// (upgradeFrom, built from git) wait in the middle of their step loop; that
// worker stops and one of this build takes over; released, the old tasks
// complete on the new worker with the old path (no waiting mark), while
// tasks started on the new worker are marked waiting while they wait.
func TestClusterWorkerUpgrade(t *testing.T) {
	began := time.Now()
	root, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("the upgrade test builds an older rigger from this repository's history, but this is no git clone: %v", err)
	}
	oldBin := testtools.RiggerAt(t, strings.TrimSpace(string(root)), upgradeFrom, "nodevserver")
	oldReady := time.Now()
	t.Logf("older build ready after %s", oldReady.Sub(began).Round(time.Second))

	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(upgradeTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	// As in a rollout, the old build ran first (its schema), then this
	// build's server starts (migrating the database further) while the
	// old worker goes on: an older binary refuses to start on a newer
	// schema, but one already running keeps working.
	c := startCluster(t, 0, 0, fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s}\n", tpl))
	oldWorker := c.startWorkerOf(t, oldBin)
	c.startServer(t)
	c.waitTemplates(t, 1)
	api := c.servers[0].api
	create := func() string {
		t.Helper()
		var created struct {
			ID    string
			Error struct{ Message string }
		}
		if code := doJSONAs(t, c.token, "POST", api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/upgrade"}, &created); code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, created.Error.Message)
		}
		return created.ID
	}
	callbacks := map[string]string{}
	waiting := func(id string) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			var tr waitTaskResp
			code := doJSONAs(t, c.token, "GET", api+"/api/scaffolder/v2/tasks/"+id, nil, &tr)
			if code == http.StatusOK && len(tr.Steps) == 3 && tr.Steps[1].Wait != nil && tr.Steps[1].Wait.CallbackPath != "" {
				callbacks[id] = tr.Steps[1].Wait.CallbackPath
				return
			}
			if tr.Status != "" && tr.Status != "processing" || time.Now().After(deadline) {
				t.Fatalf("task %s never waited for its callback (status %d): %+v", id, code, tr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	oldTasks := []string{create(), create()}
	for _, id := range oldTasks {
		waiting(id)
	}

	// The rollout: the old worker stops (gracefully, as a Deployment's
	// pod does), then one of this build starts.
	if err := oldWorker.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	oldWorker.wait(t, 60*time.Second)
	newWorker := c.startWorker(t)
	newTasks := []string{create(), create()}
	for _, id := range newTasks {
		waiting(id)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tc, err := c.temporal.Dial(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	// Visibility lags: poll until the waiting runs are listed. Only the
	// new build's runs carry the mark.
	query := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", workflows.ScaffoldName, searchattr.Status, searchattr.StatusWaiting)
	for {
		listed := listIDs(ctx, t, tc, c.temporal.Namespace, query)
		slices.Sort(listed)
		want := slices.Clone(newTasks)
		slices.Sort(want)
		if slices.Equal(listed, want) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("runs listed as waiting: %v, want the new build's %v (the old build's %v are not marked)", listed, newTasks, oldTasks)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Release every task: each completes on the new worker.
	for i, id := range append(slices.Clone(oldTasks), newTasks...) {
		var out struct{ Error struct{ Message string } }
		if code := doJSON(t, "POST", api+callbacks[id], map[string]any{"ticket": fmt.Sprintf("T-%d", i)}, &out); code != http.StatusAccepted {
			t.Fatalf("callback of %s: %d %s (the new worker logged %d nondeterminism errors, TMPRL1100)",
				id, code, out.Error.Message, strings.Count(newWorker.stderr.String(), "TMPRL1100"))
		}
	}
	newIdentity := fmt.Sprintf("%d@", newWorker.cmd.Process.Pid)
	for i, id := range append(slices.Clone(oldTasks), newTasks...) {
		if tr := waitTaskAsWithin(t, c.token, api, id, 2*time.Minute); tr.Status != "completed" {
			t.Fatalf("task %s after its callback: %+v\nnew worker:\n%s", id, tr, tail(newWorker.stderr.String(), 6000))
		}
		if text := eventTextAs(t, c.token, api, id); !strings.Contains(text, fmt.Sprintf("after the wait, ticket T-%d", i)) || !strings.Contains(text, "before.txt") {
			t.Errorf("task %s's log lacks the step after the wait or the workspace:\n%s", id, tail(text, 3000))
		}
		h := readUpgradeHistory(ctx, t, tc, id)
		old := i < len(oldTasks)
		if got := h.statuses; old && len(got) != 0 || !old && strings.Join(got, ",") != "waiting,-" {
			t.Errorf("task %s (old build's: %t) upserted RiggerStatus %q; want none for the old build's, waiting then unset for the new's", id, old, got)
		}
		// A newer run takes waiting-status through one-version (session 33).
		if got := slices.Contains(h.changes, waitingStatusVersion) || slices.Contains(h.changes, oneVersionVersion); got == old {
			t.Errorf("task %s (old build's: %t): TemporalChangeVersion %v", id, old, h.changes)
		}
		t.Logf("task %s (old build's: %t): RiggerStatus upserts %v, TemporalChangeVersion %v, continued after its callback by %s",
			id, old, h.statuses, h.changes, h.afterSignal)
		if old && !strings.HasPrefix(h.afterSignal, newIdentity) {
			t.Errorf("old build's task %s: the workflow task after its callback was run by %q, not the new worker (%s…)", id, h.afterSignal, newIdentity)
		}
	}
	// A run that does not replay fails its workflow task again and again
	// (TMPRL1100), even where it ends up completing.
	if n := strings.Count(newWorker.stderr.String(), "TMPRL1100"); n > 0 {
		t.Errorf("the new worker logged %d nondeterminism errors (TMPRL1100):\n%s", n, tail(newWorker.stderr.String(), 4000))
	}
	t.Logf("upgrade test: %s in all, %s after the older build was ready", time.Since(began).Round(time.Second), time.Since(oldReady).Round(time.Second))
}

// upgradeHistory is what TestClusterWorkerUpgrade reads in a run's history.
type upgradeHistory struct {
	statuses    []string // RiggerStatus upserts in order ("-": unset)
	changes     []string // TemporalChangeVersion values upserted
	afterSignal string   // identity of the worker that ran the workflow task after the first signal
}

func readUpgradeHistory(ctx context.Context, t *testing.T, tc client.Client, id string) upgradeHistory {
	t.Helper()
	var h upgradeHistory
	signalled := false
	dc := converter.GetDefaultDataConverter()
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			signalled = true
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			if signalled && h.afterSignal == "" {
				h.afterSignal = e.GetWorkflowTaskStartedEventAttributes().GetIdentity()
			}
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			fields := e.GetUpsertWorkflowSearchAttributesEventAttributes().GetSearchAttributes().GetIndexedFields()
			if p, ok := fields[searchattr.Status]; ok {
				h.statuses = append(h.statuses, keyword(t, dc, p))
			}
			if p, ok := fields["TemporalChangeVersion"]; ok {
				var v []string
				if err := dc.FromPayload(p, &v); err != nil {
					t.Fatal(err)
				}
				h.changes = append(h.changes, v...)
			}
		}
	}
	return h
}

// keyword decodes a keyword search attribute; "-" for an unset.
func keyword(t *testing.T, dc converter.DataConverter, p *commonpb.Payload) string {
	t.Helper()
	var v *string
	if err := dc.FromPayload(p, &v); err != nil {
		t.Fatal(err)
	}
	if v == nil {
		return "-"
	}
	return *v
}

// listIDs lists the workflow ids visibility finds for query.
func listIDs(ctx context.Context, t *testing.T, tc client.Client, namespace, query string) []string {
	t.Helper()
	resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query})
	if err != nil {
		t.Fatalf("list %s: %v", query, err)
	}
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids
}
