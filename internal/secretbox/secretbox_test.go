package secretbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

func TestKeeperRoundTripAndTamper(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	keyPath := filepath.Join(t.TempDir(), "secret.key")
	key, err := LoadOrCreateKeyFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	again, _ := LoadOrCreateKeyFile(keyPath)
	if string(again) != string(key) {
		t.Fatal("the key file was not reused")
	}
	k, err := New(key, st, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"token": "ghp_abc", "other": "x"}
	if err := k.Put(ctx, "task-1", want); err != nil {
		t.Fatal(err)
	}
	// Stored sealed: the value is not in the database.
	raw, _ := st.GetTaskSecrets(ctx, "task-1")
	if strings.Contains(string(raw), "ghp_abc") {
		t.Fatal("secret stored in clear")
	}
	got, err := k.Get(ctx, "task-1")
	if err != nil || got["token"] != "ghp_abc" || got["other"] != "x" {
		t.Fatalf("get = %v, %v", got, err)
	}
	// A blob moved to another task does not open (the task id is bound).
	if err := st.PutTaskSecrets(ctx, "task-2", raw, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get(ctx, "task-2"); err == nil {
		t.Fatal("a sealed blob opened for another task")
	}
	other, _ := New(make([]byte, KeySize), st, time.Hour)
	if _, err := other.Get(ctx, "task-1"); err == nil || !strings.Contains(err.Error(), "secretKey") {
		t.Fatalf("wrong key: %v", err)
	}
	if err := k.Forget(ctx, "task-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get(ctx, "task-1"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("after forget: %v", err)
	}
}

func TestCheckAndParseKey(t *testing.T) {
	if err := Check(map[string]string{"big": strings.Repeat("x", MaxSecretSize+1)}); err == nil || !strings.Contains(err.Error(), "secrets.big") {
		t.Fatalf("big secret: %v", err)
	}
	if _, err := ParseKey("not base64!"); err == nil {
		t.Fatal("bad base64 accepted")
	}
	if _, err := ParseKey("c2hvcnQ="); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Fatalf("short key: %v", err)
	}
}

// TestKeeperTTL: secrets live for the configured scaffolder.secretTTL from
// when they were stored, on the real store: stored two hours ago with a
// 1 h TTL they are gone, with a 3 h TTL they are still there.
func TestKeeperTTL(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := LoadOrCreateKeyFile(filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	twoHoursAgo := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	for _, c := range []struct {
		ttl  time.Duration
		live bool
	}{{time.Hour, false}, {3 * time.Hour, true}} {
		k, err := New(key, st, c.ttl)
		if err != nil {
			t.Fatal(err)
		}
		k.now = twoHoursAgo
		task := "ttl-" + c.ttl.String()
		if err := k.Put(ctx, task, map[string]string{"token": "x"}); err != nil {
			t.Fatal(err)
		}
		got, err := k.Get(ctx, task)
		switch {
		case c.live && (err != nil || got["token"] != "x"):
			t.Errorf("ttl %s, stored 2 h ago: %v, %v; want the secrets", c.ttl, got, err)
		case !c.live && !errors.Is(err, errs.ErrNotFound):
			t.Errorf("ttl %s, stored 2 h ago: %v, %v; want expired (not found)", c.ttl, got, err)
		}
	}
}
