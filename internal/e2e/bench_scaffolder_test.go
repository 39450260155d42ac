package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkScaffolder runs the Backstage peer's own bench templates
// (shared/peers/backstage/templates) on rigger dev: (a) 50 sequential 3-step
// tasks, POST → completed; (b) 100 submitted at once; (c) 200 at once whose
// middle step waits 10 s.
func BenchmarkScaffolder(b *testing.B) {
	needBinary(b)
	peer, _ := filepath.Abs("../../../shared/peers/backstage/templates")
	cfg := fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s/bench-3step.yaml}\n    - {type: file, target: %s/bench-wait.yaml}\n", peer, peer)
	cfg += benchLayersOff()
	p, _ := startDevWithConfig(b, cfg)
	waitTotal(b, p.api, "kind=template", 2)

	runTask := func(tpl string, values map[string]any) (string, time.Time) {
		var c struct{ ID string }
		t0 := time.Now()
		if code := doJSON(b, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/" + tpl, "values": values}, &c); code != http.StatusCreated {
			b.Fatalf("create: %d", code)
		}
		return c.ID, t0
	}
	// await polls a task; every poll costs the server a describe and a
	// workflow query, so concurrent runs poll slowly (the interval bounds the
	// precision of their figures).
	await := func(id string, every time.Duration) time.Time {
		for {
			var tr taskResp
			doJSON(b, "GET", p.api+"/api/scaffolder/v2/tasks/"+id, nil, &tr)
			switch tr.Status {
			case "completed":
				return time.Now()
			case "failed", "cancelled":
				b.Fatalf("task %s %s: %+v", id, tr.Status, tr.Steps)
			}
			time.Sleep(every)
		}
	}

	b.Run("a-sequential", func(b *testing.B) {
		var lat []time.Duration
		for i := range 53 {
			id, t0 := runTask("bench-3step", map[string]any{"name": fmt.Sprintf("seq-%d", i)})
			d := await(id, 5*time.Millisecond).Sub(t0)
			if i >= 3 {
				lat = append(lat, d)
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "ms-p50")
		b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "ms-p99")
	})
	concurrent := func(b *testing.B, n int, tpl string, values func(i int) map[string]any) (time.Duration, []time.Duration) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var lat []time.Duration
		start := time.Now()
		var last time.Time
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, t0 := runTask(tpl, values(i))
				end := await(id, 250*time.Millisecond)
				mu.Lock()
				lat = append(lat, end.Sub(t0))
				if end.After(last) {
					last = end
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(lat)
		return last.Sub(start), lat
	}
	b.Run("b-100-at-once", func(b *testing.B) {
		total, lat := concurrent(b, 100, "bench-3step", func(i int) map[string]any { return map[string]any{"name": fmt.Sprintf("par-%d", i)} })
		b.ReportMetric(100/total.Seconds(), "tasks/s")
		b.ReportMetric(float64(percentile(lat, 0.5).Milliseconds()), "ms-p50")
		b.ReportMetric(float64(percentile(lat, 0.99).Milliseconds()), "ms-p99")
	})
	b.Run("c-200-waiting-10s", func(b *testing.B) {
		total, _ := concurrent(b, 200, "bench-wait", func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("wait-%d", i), "waitSeconds": 10}
		})
		b.ReportMetric(total.Seconds(), "s-total")
		b.ReportMetric(rssMiB(b, p.cmd.Process.Pid, "VmHWM"), "MiB-peak-rss")
	})
}
