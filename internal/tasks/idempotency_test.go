package tasks

import (
	"errors"
	"testing"

	"github.com/riggerdev/rigger/internal/auth"
	"github.com/riggerdev/rigger/internal/errs"
)

// TestCreateOnce: a key finds the task its first create started (while it
// runs, after it failed and after a retry of it), another request with the
// key is refused, and the key is the caller's own. Embedded Temporal, real
// SQLite catalog.
func TestCreateOnce(t *testing.T) {
	s := testService(t, &testAuthorizer{scope: ListScope{All: true}}, nil)
	ctx := t.Context()
	alice, bob := auth.Identity{Ref: "user:default/alice"}, auth.Identity{Ref: "user:default/bob"}
	req := CreateRequest{TemplateRef: "template:default/t", Values: map[string]any{"a": "1"}}

	first, err := s.CreateOnce(ctx, alice, "k1", req)
	if err != nil || first.Replayed || first.ID == "" {
		t.Fatalf("first create: %+v %v", first, err)
	}
	again, err := s.CreateOnce(ctx, alice, "k1", req)
	if err != nil || !again.Replayed || again.ID != first.ID {
		t.Fatalf("repeat: %+v %v, want a replay of %s", again, err, first.ID)
	}
	other := req
	other.Values = map[string]any{"a": "2"}
	if _, err := s.CreateOnce(ctx, alice, "k1", other); !errors.Is(err, ErrIdempotencyMismatch) || !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("same key, other values: %v, want ErrIdempotencyMismatch", err)
	}
	if res, err := s.CreateOnce(ctx, bob, "k1", req); err != nil || res.Replayed || res.ID == first.ID {
		t.Fatalf("bob's k1: %+v %v, want a task of his own", res, err)
	}
	for _, bad := range []string{"", "has space", string(make([]byte, MaxIdempotencyKey+1))} {
		if _, err := s.CreateOnce(ctx, alice, bad, req); !errors.Is(err, errs.ErrInvalid) {
			t.Errorf("key %q: %v, want invalid", bad, err)
		}
	}

	// A failed task retried keeps its key: a repeat still finds it.
	fails := CreateRequest{TemplateRef: "template:default/fails"}
	f, err := s.CreateOnce(ctx, alice, "k2", fails)
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, alice, f.ID, StatusFailed)
	if res, err := s.CreateOnce(ctx, alice, "k2", fails); err != nil || !res.Replayed || res.ID != f.ID {
		t.Fatalf("repeat after failure: %+v %v", res, err)
	}
	if err := s.Retry(ctx, alice, f.ID); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, alice, f.ID, StatusFailed)
	if res, err := s.CreateOnce(ctx, alice, "k2", fails); err != nil || !res.Replayed || res.ID != f.ID {
		t.Fatalf("repeat after a retry: %+v %v", res, err)
	}
}
