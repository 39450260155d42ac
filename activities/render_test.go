package activities

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/riggerdev/rigger/activities/contract"
	"github.com/riggerdev/rigger/templates"
)

// cpuTime is the CPU time this process has used (user and system).
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// A step with a heavy each stops rendering when its activity's context
// ends: the process stops consuming CPU within a second of the deadline,
// although the renderer's own time limit is far away.
func TestRenderStopsAtDeadline(t *testing.T) {
	r, err := templates.NewRenderer(templates.Limits{Timeout: 10 * time.Minute, MaxIterations: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	s := &Scaffold{Renderer: r, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	in := contract.RenderInput{
		StepID: "heavy",
		Each:   "${{ range(10000) }}",
		Input:  map[string]any{"x": "{% for i in range(50000) %}${{ i }}{% endfor %}"},
	}
	const limit = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		_, err := s.Render(ctx, in)
		done <- err
	}()
	var renderErr error
	returned := false
	select {
	case renderErr = <-done:
		returned = true
	case <-time.After(time.Until(start.Add(limit + time.Second))):
	}
	// Sample the CPU over the following second: a rendering that goes on
	// uses about a core.
	c0 := cpuTime(t)
	time.Sleep(time.Second)
	used := cpuTime(t) - c0
	if !returned {
		t.Fatalf("Render still running 1s after its deadline (used %v of CPU in the next second)", used)
	}
	if used > 300*time.Millisecond {
		t.Fatalf("the process used %v of CPU in the second after the render returned", used)
	}
	var app *temporal.ApplicationError
	if !errors.As(renderErr, &app) || !app.NonRetryable() {
		t.Fatalf("err = %v, want a non-retryable failure", renderErr)
	}
}

// The each, the if and every item's input share one budget: a step whose
// items each fit the limits can still exceed them together.
func TestRenderEachSharesBudget(t *testing.T) {
	r, err := templates.NewRenderer(templates.Limits{MaxIterations: 1000, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := &Scaffold{Renderer: r, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	in := contract.RenderInput{
		StepID: "loop",
		Each:   "${{ range(3) }}",
		Input:  map[string]any{"x": "{% for i in range(400) %}.{% endfor %}"},
	}
	_, err = s.Render(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "iteration") {
		t.Fatalf("3 items × 400 iterations on a budget of 1000: err = %v", err)
	}
	in.Each = "${{ range(2) }}"
	out, err := s.Render(context.Background(), in)
	if err != nil || len(out.Items) != 2 {
		t.Fatalf("2 items × 400 iterations: %v, %v", out, err)
	}
	// The each cap.
	r2, _ := templates.NewRenderer(templates.Limits{MaxEachItems: 2})
	s.Renderer = r2
	in.Each = "${{ range(3) }}"
	if _, err := s.Render(context.Background(), in); err == nil || !strings.Contains(err.Error(), "limit of 2") {
		t.Fatalf("3 items over a cap of 2: err = %v", err)
	}
}
