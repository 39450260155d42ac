package templates

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A heavy each would get a fresh budget per item if each item's rendering
// started its own; with a shared Budget the iterations run out in total.
func TestBudgetSharedAcrossCalls(t *testing.T) {
	r := newTestRenderer(t, Limits{MaxIterations: 1000, Timeout: time.Minute})
	input := map[string]any{"s": "{% for i in range(600) %}x{% endfor %}"}
	// Alone, each call fits.
	for range 3 {
		if _, err := r.RenderValue(input, Context{}); err != nil {
			t.Fatalf("one call: %v", err)
		}
	}
	ctx := Context{Budget: r.NewBudget(context.Background())}
	if _, err := r.RenderValue(input, ctx); err != nil {
		t.Fatalf("first call on the budget: %v", err)
	}
	_, err := r.RenderValue(input, ctx)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("second call on the same budget: err = %v, want ErrLimit", err)
	}
}

func TestBudgetSharesOutput(t *testing.T) {
	r := newTestRenderer(t, Limits{MaxOutputBytes: 100, Timeout: time.Minute})
	ctx := Context{Budget: r.NewBudget(context.Background()), Parameters: map[string]any{"s": strings.Repeat("a", 60)}}
	if _, err := r.RenderString("<${{ parameters.s }}>", ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RenderString("<${{ parameters.s }}>", ctx); !errors.Is(err, ErrLimit) {
		t.Fatalf("second 62 bytes of a 100-byte budget: err = %v, want ErrLimit", err)
	}
}

func TestEachItemsCap(t *testing.T) {
	r := newTestRenderer(t, Limits{MaxEachItems: 5})
	items, err := r.EachItems("${{ range(5) }}", Context{})
	if err != nil || len(items) != 5 {
		t.Fatalf("5 items: %v, %v", items, err)
	}
	_, err = r.EachItems("${{ range(6) }}", Context{})
	var re *RenderError
	if !errors.As(err, &re) || !errors.Is(err, ErrLimit) || re.Path != "each" || !strings.Contains(err.Error(), "limit of 5") {
		t.Fatalf("6 items: err = %v, want an each limit error", err)
	}
	obj := map[string]any{}
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		obj[k] = 1
	}
	if _, err := r.EachItems("${{ parameters.o }}", Context{Parameters: map[string]any{"o": obj}}); !errors.Is(err, ErrLimit) {
		t.Fatalf("object of 6 keys: err = %v, want ErrLimit", err)
	}
	if got := DefaultLimits().MaxEachItems; got != 10_000 {
		t.Fatalf("default MaxEachItems = %d", got)
	}
	if _, err := NewRenderer(Limits{MaxEachItems: -1}); err == nil {
		t.Fatal("a negative MaxEachItems was accepted")
	}
}

// A rendering stops soon after its context ends even when its time budget
// is far away: every loop iteration and every few hundred steps look.
func TestBudgetStopsWithContext(t *testing.T) {
	r := newTestRenderer(t, Limits{Timeout: time.Hour, MaxIterations: 1 << 30, MaxItems: 1 << 20})
	heavy := "{% for i in range(100000) %}{% for j in range(100000) %}${{ (i * j) | string | length }}{% endfor %}{% endfor %}"
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := r.RenderString(heavy, Context{Budget: r.NewBudget(ctx)})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "deadline exceeded") {
			t.Fatalf("err = %v, want a limit error naming the deadline", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("rendering did not stop with its context")
	}
	// A budget whose context already ended renders nothing.
	if _, err := r.RenderValue(map[string]any{"a": "${{ 1 }}"}, Context{Budget: r.NewBudget(ctx)}); !errors.Is(err, ErrLimit) {
		t.Fatalf("after the context ended: err = %v", err)
	}
}
