package e2e

import (
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchPoll is the client's poll interval in every scaffolder scenario, the
// same as the Backstage peer's driver (internal/e2e/peer/bench.mjs) uses, so
// the client-side figures of both compare.
const benchPoll = 20 * time.Millisecond

// BenchmarkScaffolder runs the Backstage peer's own bench templates
// (shared/peers/backstage/templates) on rigger dev: (a) 50 sequential 3-step
// tasks; (b) 100 submitted at once; (c) 200 at once whose middle step waits
// 10 s. Each prints FIGURE lines with the names the peer's driver prints
// (`make bench-peer`): server-side times run from the POST to the task's
// completion event (its createdAt, same machine, same clock), client-side
// times to when a client polling every benchPoll sees the task done.
func BenchmarkScaffolder(b *testing.B) {
	needBinary(b)
	peer, _ := filepath.Abs("../../../shared/peers/backstage/templates")
	cfg := fmt.Sprintf("catalog:\n  locations:\n    - {type: file, target: %s/bench-3step.yaml}\n    - {type: file, target: %s/bench-wait.yaml}\n", peer, peer)
	cfg += benchLayersOff()
	p, _ := startDevWithConfig(b, cfg)
	waitTotal(b, p.api, "kind=template", 2)

	type sub struct {
		id string
		at time.Time // just before its POST
	}
	submit := func(tb testing.TB, tpl string, values map[string]any) sub {
		var c struct{ ID string }
		t0 := time.Now()
		if code := doJSON(tb, "POST", p.api+"/api/scaffolder/v2/tasks", map[string]any{"templateRef": "template:default/" + tpl, "values": values}, &c); code != http.StatusCreated {
			tb.Errorf("create: %d", code) // Errorf: submit also runs off the benchmark's goroutine
			return sub{}
		}
		return sub{c.ID, t0}
	}
	// completion is the createdAt of the task's completion event (zero if
	// it has none).
	completion := func(tb testing.TB, id string) time.Time {
		var evs []struct {
			Type      string    `json:"type"`
			CreatedAt time.Time `json:"createdAt"`
		}
		doJSON(tb, "GET", p.api+"/api/scaffolder/v2/tasks/"+id+"/events", nil, &evs)
		var at time.Time
		for _, e := range evs {
			if e.Type == "completion" {
				at = e.CreatedAt
			}
		}
		return at
	}
	// awaitAll polls the count of running tasks every benchPoll (this
	// instance runs only the bench's tasks), as the peer's driver does,
	// and returns when the client saw none left.
	awaitAll := func(tb testing.TB, bound time.Duration) time.Time {
		deadline := time.Now().Add(bound)
		for time.Now().Before(deadline) {
			var l struct{ TotalTasks int }
			doJSON(tb, "GET", p.api+"/api/scaffolder/v2/tasks?status=open&status=processing&limit=1", nil, &l)
			if l.TotalTasks == 0 {
				return time.Now()
			}
			time.Sleep(benchPoll)
		}
		tb.Fatalf("tasks still running after %s", bound)
		return time.Time{}
	}

	must := func(tb testing.TB, s sub) sub {
		if s.id == "" {
			tb.FailNow()
		}
		return s
	}
	b.Run("a-sequential", func(b *testing.B) {
		for i := range 3 { // warm-up, not counted
			s := must(b, submit(b, "bench-3step", map[string]any{"name": fmt.Sprintf("warm-%d", i)}))
			awaitTask(b, p.api, s.id, benchPoll)
		}
		var client, server []time.Duration
		cpu0, faults0 := procCPUTicks(b, p.cmd.Process.Pid), procMinorFaults(b, p.cmd.Process.Pid)
		for i := range 50 {
			s := must(b, submit(b, "bench-3step", map[string]any{"name": fmt.Sprintf("seq-%d", i)}))
			client = append(client, awaitTask(b, p.api, s.id, benchPoll).Sub(s.at))
			if at := completion(b, s.id); !at.IsZero() {
				server = append(server, at.Sub(s.at))
			}
		}
		cpu, faults := procCPUTicks(b, p.cmd.Process.Pid)-cpu0, procMinorFaults(b, p.cmd.Process.Pid)-faults0
		figure(b, "scaffolder.seq50.p50_ms", ms(rankPct(client, 50)), "ms", "POST to client-seen completed (poll 20 ms)")
		figure(b, "scaffolder.seq50.p99_ms", ms(rankPct(client, 99)), "ms", "")
		figure(b, "scaffolder.seq50.server_p50_ms", ms(rankPct(server, 50)), "ms", fmt.Sprintf("POST to completion event createdAt; %d of 50 with one", len(server)))
		figure(b, "scaffolder.seq50.server_p99_ms", ms(rankPct(server, 99)), "ms", "")
		figure(b, "scaffolder.seq50.cpu_ms_per_task", float64(cpu*10)/50, "ms", "the rigger process's user+system CPU time over the 50 runs and their polls, per task")
		figure(b, "scaffolder.seq50.minor_faults_per_task", float64(faults)/50, "", "the rigger process's minor page faults over the same, per task (17-20 µs each on the development VM)")
		// The same with the long poll (rigger only): no poll interval.
		var long []time.Duration
		for i := range 50 {
			s := must(b, submit(b, "bench-3step", map[string]any{"name": fmt.Sprintf("long-%d", i)}))
			for {
				var tr taskResp
				doJSON(b, "GET", p.api+"/api/scaffolder/v2/tasks/"+s.id+"?wait=30s", nil, &tr)
				if tr.Status == "completed" {
					break
				}
				if tr.Status != "processing" {
					b.Fatalf("task %s %s: %+v", s.id, tr.Status, tr.Steps)
				}
			}
			long = append(long, time.Since(s.at))
		}
		figure(b, "scaffolder.seq50.longpoll_p50_ms", ms(rankPct(long, 50)), "ms", "POST to client-seen completed with GET ?wait=30s (no poll interval)")
		figure(b, "scaffolder.seq50.longpoll_p99_ms", ms(rankPct(long, 99)), "ms", "")
	})
	// burst submits n tasks at once and reports, from their completion
	// events, the rate (first POST to last completion) and each task's
	// latency; and when the polling client saw them all done.
	burst := func(b *testing.B, name string, n int, tpl string, values func(i int) map[string]any, bound time.Duration) (rate, clientRate float64, lat []time.Duration, total, clientTotal time.Duration) {
		subs := make([]sub, n)
		cpu0 := procCPUTicks(b, p.cmd.Process.Pid)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Go(func() { subs[i] = submit(b, tpl, values(i)) })
		}
		wg.Wait()
		if b.Failed() {
			b.FailNow()
		}
		seen := awaitAll(b, bound)
		var last time.Time
		for _, s := range subs {
			at := completion(b, s.id)
			if at.IsZero() {
				b.Fatalf("task %s has no completion event", s.id)
			}
			lat = append(lat, at.Sub(s.at))
			if at.After(last) {
				last = at
			}
		}
		total, clientTotal = last.Sub(start), seen.Sub(start)
		figure(b, fmt.Sprintf("scaffolder.%s.cpu_ms_per_task", name), float64((procCPUTicks(b, p.cmd.Process.Pid)-cpu0)*10)/float64(n), "ms",
			"the rigger process's user+system CPU time from the first POST through reading every task's events, per task")
		return float64(n) / total.Seconds(), float64(n) / clientTotal.Seconds(), lat, total, clientTotal
	}
	b.Run("b-100-at-once", func(b *testing.B) {
		rate, clientRate, lat, _, _ := burst(b, "burst100", 100, "bench-3step", func(i int) map[string]any { return map[string]any{"name": fmt.Sprintf("par-%d", i)} }, 3*time.Minute)
		figure(b, "scaffolder.burst100.throughput_tasks_per_s", r1(rate), "tasks/s", "first POST to last completion event")
		figure(b, "scaffolder.burst100.client_throughput_tasks_per_s", r1(clientRate), "tasks/s", "first POST to the client seeing none running (poll 20 ms)")
		figure(b, "scaffolder.burst100.p50_completion_ms", ms(rankPct(lat, 50)), "ms", "per task: its POST to its completion event")
		figure(b, "scaffolder.burst100.p99_completion_ms", ms(rankPct(lat, 99)), "ms", "")
	})
	b.Run("c-200-waiting-10s", func(b *testing.B) {
		_, _, _, total, clientTotal := burst(b, "wait200", 200, "bench-wait", func(i int) map[string]any {
			return map[string]any{"name": fmt.Sprintf("wait-%d", i), "waitSeconds": 10}
		}, 10*time.Minute)
		figure(b, "scaffolder.wait200.total_s", r1(total.Seconds()), "s", "200 tasks, middle step waits 10 s, submitted at once; first POST to last completion event")
		figure(b, "scaffolder.wait200.client_total_s", r1(clientTotal.Seconds()), "s", "first POST to the client seeing none running (poll 20 ms)")
		figure(b, "scaffolder.wait200.peak_rss_mib", math.Round(rssMiB(b, p.cmd.Process.Pid, "VmHWM")), "MiB", "the rigger dev process's VmHWM")
	})
}

// awaitTask polls GET /v2/tasks/:id every interval until the task is done
// and returns when the client saw it completed.
func awaitTask(tb testing.TB, api, id string, every time.Duration) time.Time {
	tb.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var tr taskResp
		doJSON(tb, "GET", api+"/api/scaffolder/v2/tasks/"+id, nil, &tr)
		switch tr.Status {
		case "completed":
			return time.Now()
		case "failed", "cancelled":
			tb.Fatalf("task %s %s: %+v", id, tr.Status, tr.Steps)
		}
		time.Sleep(every)
	}
	tb.Fatalf("task %s not done within a minute", id)
	return time.Time{}
}

// figure prints one "FIGURE name = value unit  # note" line, the format of
// the peer's driver, and reports it as a benchmark metric.
func figure(b *testing.B, name string, value float64, unit, note string) {
	b.Helper()
	line := fmt.Sprintf("FIGURE %s = %g %s", name, value, unit)
	if note != "" {
		line += "  # " + note
	}
	fmt.Println(line)
	b.ReportMetric(value, name)
}

// rankPct is the nearest-rank percentile the peer's driver uses.
func rankPct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(len(s)-1, i))]
}

func ms(d time.Duration) float64 { return r1(float64(d.Microseconds()) / 1000) }

func r1(x float64) float64 { return math.Round(x*10) / 10 }
