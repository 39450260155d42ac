package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store"
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
	// Extending keeps secrets past their first expiry; it never shortens.
	if err := s.PutTaskSecrets(ctx, "task-long", []byte("w"), now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.ExtendTaskSecrets(ctx, "task-long", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.ExtendTaskSecrets(ctx, "never-stored", now.Add(time.Hour)); err != nil {
		t.Fatalf("extending nothing: %v", err)
	}
	if err := s.ExtendTaskSecrets(ctx, "task-long", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if got, err := s.GetTaskSecrets(ctx, "task-long"); err != nil || string(got) != "w" {
		t.Fatalf("extended secrets: %q %v", got, err)
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

// TaskSecretsPurged checks that stored secrets leave the table, not only
// the reads: an expired entry is deleted by the next write of any task's
// secrets, and a deleted entry is gone. db is the same database as s, read
// with plain SQL; rebind is the dialect's placeholder rewriting.
func TaskSecretsPurged(t *testing.T, s store.Store, db *sql.DB, rebind func(string) string) {
	ctx := context.Background()
	rows := func(taskID string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, rebind(`SELECT COUNT(*) FROM task_secrets WHERE task_id = ?`), taskID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	now := time.Now()
	if err := s.PutTaskSecrets(ctx, "expired", []byte("old"), now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTaskSecrets(ctx, "live", []byte("new"), now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := rows("expired"); n != 0 {
		t.Errorf("an expired entry is still stored after the next write (%d rows)", n)
	}
	if n := rows("live"); n != 1 {
		t.Fatalf("the live entry: %d rows, want 1", n)
	}
	if err := s.DeleteTaskSecrets(ctx, "live"); err != nil {
		t.Fatal(err)
	}
	if n := rows("live"); n != 0 {
		t.Errorf("a deleted entry is still stored (%d rows)", n)
	}
}
