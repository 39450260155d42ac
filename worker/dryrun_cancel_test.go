package worker

import (
	"context"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/riggerdev/rigger/activities"
	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/internal/permission"
	"github.com/riggerdev/rigger/templates"
)

func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A dry run with a heavy each stops consuming CPU once its context (the
// API request) ends, although the renderer's own time limit is far away.
func TestDryRunStopsWithContext(t *testing.T) {
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := templates.NewRenderer(templates.Limits{Timeout: 10 * time.Minute, MaxIterations: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	runner := &DryRunner{Scaffold: &activities.Scaffold{Renderer: r, Logger: discard}, Logger: discard}
	tpl, err := templates.Parse("t", []byte(`apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: t}
spec:
  type: x
  steps:
    - id: heavy
      action: debug:log
      each: ${{ range(10000) }}
      input: {message: '{% for i in range(50000) %}${{ i }}{% endfor %}'}
`))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := templates.Compile(tpl, nil, contract.NewRegistry(nil), templates.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const limit = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		res, err := runner.DryRun(ctx, *plan, nil, nil, permission.Subject{})
		if err == nil {
			err = res.Err
		}
		done <- err
	}()
	returned := false
	select {
	case err := <-done:
		returned = true
		if err == nil {
			t.Error("the dry run succeeded")
		}
	case <-time.After(time.Until(start.Add(limit + 2*time.Second))):
	}
	c0 := processCPU(t)
	time.Sleep(time.Second)
	used := processCPU(t) - c0
	if !returned {
		t.Fatalf("the dry run still runs 2s after its context ended (%v of CPU in the next second)", used)
	}
	if used > 300*time.Millisecond {
		t.Fatalf("the process used %v of CPU in the second after the dry run returned", used)
	}
}
