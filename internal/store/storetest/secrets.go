package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"sync"
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

// testSecretsAtOnce: writers of the same secret at the same moment, as
// replicas would be, each get an answer that is true: sets of a task's
// secrets all succeed and one of the values stays; grants of a task's
// secretsKey to the same user all succeed, and of grants to different
// users one succeeds and every other is refused as a conflict.
func testSecretsAtOnce(t *testing.T, open Opener) {
	const n = 8
	ctx := context.Background()
	s := open(t)
	exp := time.Now().Add(time.Hour)
	for i, err := range Together(n, func(i int) error {
		return s.PutTaskSecrets(ctx, "task-a", []byte{byte('a' + i)}, exp)
	}) {
		if err != nil {
			t.Errorf("set %d of the same task's secrets at once: %v", i, err)
		}
	}
	if got, err := s.GetTaskSecrets(ctx, "task-a"); err != nil || len(got) != 1 || got[0] < 'a' || got[0] >= 'a'+n {
		t.Errorf("after sets at once: %q %v, want one of the values set", got, err)
	}
	grant := func(task, user string) store.TaskUserCredential {
		return store.TaskUserCredential{TaskID: task, SecretsKey: "USER_OAUTH_TOKEN", UserRef: user, Provider: "github", Created: time.Now()}
	}
	for i, err := range Together(n, func(int) error { return s.GrantTaskUserCredential(ctx, grant("task-same", "user:default/alice")) }) {
		if err != nil {
			t.Errorf("grant %d of the same credential at once: %v", i, err)
		}
	}
	users := func(i int) string { return "user:default/u" + string(rune('a'+i)) }
	granted := -1
	for i, err := range Together(n, func(i int) error { return s.GrantTaskUserCredential(ctx, grant("task-race", users(i))) }) {
		switch {
		case err == nil && granted < 0:
			granted = i
		case err == nil:
			t.Errorf("grants %d and %d of different users both succeeded", granted, i)
		case !errors.Is(err, errs.ErrConflict):
			t.Errorf("grant %d of another user's credential at once: %v, want a conflict", i, err)
		}
	}
	if granted < 0 {
		t.Fatal("of grants of different users at once, none succeeded")
	}
	if g, err := s.TaskUserCredential(ctx, "task-race", "USER_OAUTH_TOKEN"); err != nil || g.UserRef != users(granted) {
		t.Errorf("stored grant: %+v %v, want %s's", g, err, users(granted))
	}
}

// Together runs n calls of fn at the same moment, as n processes
// would, and returns their errors.
func Together(n int, fn func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	out := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}
