package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// BenchmarkClusterThousandTasks submits 1,000 one-step tasks at once (50
// clients) to the production topology (two servers, two workers, the
// official Temporal server on PostgreSQL with mTLS), then to a single
// rigger dev process on the same machine, and reports throughput, the
// p50/p99 of each task's time from its start to its completion (from
// Temporal's visibility: StartTime to CloseTime), and each process's CPU
// time during the run and its memory.
func BenchmarkClusterThousandTasks(b *testing.B) {
	needBinary(b)
	const n = 1000
	dir := b.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(clusterQuickTemplates), 0o600); err != nil {
		b.Fatal(err)
	}
	location := fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s}\n", tpl)
	b.Run("cluster", func(b *testing.B) {
		c := startCluster(b, 2, 2, location)
		c.waitTemplates(b, 2)
		tc, err := c.temporal.Dial(context.Background(), true)
		if err != nil {
			b.Fatal(err)
		}
		defer tc.Close()
		procs := []usageProc{
			{name: "temporal", pid: c.temporal.Pid()},
			{name: "temporal-pg", pid: c.temporalDB.Pid(), tree: true},
			{name: "rigger-pg", pid: c.store.Pid(), tree: true},
		}
		for i, s := range c.servers {
			procs = append(procs, usageProc{name: fmt.Sprintf("server%d", i+1), pid: s.cmd.Process.Pid})
		}
		for i, w := range c.workers {
			procs = append(procs, usageProc{name: fmt.Sprintf("worker%d", i+1), pid: w.cmd.Process.Pid})
		}
		thousandTasks(b, tc, c.temporal.Namespace, []string{c.servers[0].api, c.servers[1].api}, c.token, n, procs)
	})
	b.Run("dev", func(b *testing.B) {
		ps := freePorts(b)
		cfg := filepath.Join(dir, "rigger.yaml")
		if err := os.WriteFile(cfg, []byte(location), 0o600); err != nil {
			b.Fatal(err)
		}
		p := start(b, dir, cleanEnv(), "dev", "--config", cfg, "--data-dir", filepath.Join(b.TempDir(), "data"),
			"--listen", fmt.Sprintf("127.0.0.1:%d", ps.api), "--temporal-listen", fmt.Sprintf("127.0.0.1:%d", ps.frontend), "--temporal-ui-listen", "")
		p.api = fmt.Sprintf("http://127.0.0.1:%d", ps.api)
		p.waitReady(b, 90*time.Second)
		waitTotal(b, p.api, "kind=template", 2)
		tc, err := client.Dial(client.Options{HostPort: fmt.Sprintf("127.0.0.1:%d", ps.frontend), Namespace: "default"})
		if err != nil {
			b.Fatal(err)
		}
		defer tc.Close()
		thousandTasks(b, tc, "default", []string{p.api}, "", n, []usageProc{{name: "dev", pid: p.cmd.Process.Pid}})
	})
}

// thousandTasks creates n quick tasks from 50 clients across apis, waits
// until Temporal has n completed, and reports the figures, with the CPU
// time and memory of procs.
func thousandTasks(b *testing.B, tc client.Client, namespace string, apis []string, token string, n int, procs []usageProc) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	usage := measureUsage(b, procs)
	query := "RiggerTemplate = 'template:default/quick'"
	t0 := time.Now()
	var next atomic.Int64
	var failures atomic.Int64
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := next.Add(1); k <= int64(n); k = next.Add(1) {
				code, _, _, err := createKeyed(ctx, token, apis[int(k)%len(apis)], fmt.Sprintf("bench-%d-%d", i, k), map[string]any{"templateRef": "template:default/quick"})
				if err != nil || code != http.StatusCreated {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	submitted := time.Since(t0)
	if f := failures.Load(); f > 0 {
		b.Fatalf("%d of %d creates failed", f, n)
	}
	for {
		resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query + " AND ExecutionStatus = 'Completed'"})
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetCount() >= int64(n) {
			break
		}
		if ctx.Err() != nil {
			b.Fatalf("%d of %d tasks completed", resp.GetCount(), n)
		}
		time.Sleep(250 * time.Millisecond)
	}
	total := time.Since(t0)
	usage()
	var lat []time.Duration
	var token2 []byte
	for {
		resp, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: namespace, Query: query, PageSize: 500, NextPageToken: token2})
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range resp.GetExecutions() {
			lat = append(lat, e.GetCloseTime().AsTime().Sub(e.GetStartTime().AsTime()))
		}
		if token2 = resp.GetNextPageToken(); len(token2) == 0 {
			break
		}
	}
	slices.Sort(lat)
	p := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))] }
	b.ReportMetric(float64(n)/total.Seconds(), "tasks/s")
	b.ReportMetric(submitted.Seconds(), "s-to-submit")
	b.ReportMetric(total.Seconds(), "s-to-all-completed")
	b.ReportMetric(p(0.5).Seconds(), "s-p50-completion")
	b.ReportMetric(p(0.99).Seconds(), "s-p99-completion")
	b.Logf("%d tasks: submitted in %s, all completed in %s (%.1f tasks/s); start-to-close p50 %s p99 %s",
		len(lat), submitted.Round(time.Millisecond), total.Round(time.Millisecond), float64(n)/total.Seconds(), p(0.5).Round(time.Millisecond), p(0.99).Round(time.Millisecond))
}
