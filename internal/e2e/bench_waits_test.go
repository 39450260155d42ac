package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

const approvalBenchTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: waits-bench}
spec:
  owner: group:default/platform
  type: service
  parameters:
    - properties:
        n: {type: integer}
  steps:
    - {id: before, name: Before, action: debug:log, input: {message: "run ${{ parameters.n }}"}}
    - {id: gate, name: Approve, action: rigger:approval, input: {message: "go?", timeout: 14d, allowSelfApproval: true}}
`

// BenchmarkWaitingApprovals: 200 runs of rigger dev waiting at an
// approval step. Reports the activities they hold (Temporal's pending
// activities summed over the 200 runs: a worker slot each; the target is
// 0, a wait is a timer and a signal) and rigger's RSS while they wait.
func BenchmarkWaitingApprovals(b *testing.B) {
	needBinary(b)
	dir := b.TempDir()
	cfg := templateConfig(b, dir, approvalBenchTemplate, benchLayersOff())
	ps := freePorts(b)
	p := startDevOn(b, dir, cfg, ps)
	waitTotal(b, p.api, "kind=template", 1)
	const n = 200
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var c struct{ ID string }
			if code := doJSON(b, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/waits-bench", "values": map[string]any{"n": i}}, &c); code != http.StatusCreated {
				b.Errorf("create: %d", code)
				return
			}
			ids[i] = c.ID
			deadline := time.Now().Add(2 * time.Minute)
			for time.Now().Before(deadline) {
				var tr approvalTask
				doJSON(b, "GET", p.api+"/api/scaffolder/v2/tasks/"+c.ID, nil, &tr)
				if tr.Approval != nil {
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
			b.Errorf("task %s never waited for its approval", c.ID)
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	b.ReportMetric(time.Since(start).Seconds(), "s-to-all-waiting")
	tc, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", ps.frontend), Namespace: "default",
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		b.Fatal(err)
	}
	defer tc.Close()
	pending := 0
	for _, id := range ids {
		d, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
		if err != nil {
			b.Fatal(err)
		}
		pending += len(d.GetPendingActivities())
	}
	b.ReportMetric(float64(pending), "activities-held")
	b.ReportMetric(rssMiB(b, p.cmd.Process.Pid, "VmRSS"), "MiB-rss")
	if pending != 0 {
		b.Errorf("%d activities held by 200 waiting runs, want 0", pending)
	}
}
