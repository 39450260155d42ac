package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
)

// testTaskSecrets checks the sealed-secret store: round trip, replace,
// delete, and that an expired entry reads as not found and is purged.
func testTaskSecrets(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	now := time.Now()
	blob := []byte{0, 1, 2, 0xff, 'x'}
	if err := s.PutTaskSecrets(ctx, "task-a", blob, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTaskSecrets(ctx, "task-a")
	if err != nil || !bytes.Equal(got, blob) {
		t.Fatalf("get = %v, %v; want %v", got, err, blob)
	}
	if err := s.PutTaskSecrets(ctx, "task-a", []byte("v2"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTaskSecrets(ctx, "task-a"); string(got) != "v2" {
		t.Fatalf("after replace got %q", got)
	}
	if err := s.PutTaskSecrets(ctx, "task-old", []byte("old"), now.Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTaskSecrets(ctx, "task-old"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("expired secrets: got %v, want not found", err)
	}
	if err := s.DeleteTaskSecrets(ctx, "task-a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTaskSecrets(ctx, "task-a"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("deleted secrets: got %v, want not found", err)
	}
	if err := s.DeleteTaskSecrets(ctx, "never-stored"); err != nil {
		t.Fatalf("deleting nothing: %v", err)
	}
}
