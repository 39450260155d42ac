package activities

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/riggerdev/rigger/internal/secretbox"
	"github.com/riggerdev/rigger/internal/store/sqlite"
)

// sealedSecrets stores secrets for taskID the way a real server does:
// sealed with a key file's key in a SQLite store, read back through the
// same Keeper the workers use.
func sealedSecrets(t *testing.T, taskID string, secrets map[string]string) *secretbox.Keeper {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "rigger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := secretbox.LoadOrCreateKeyFile(filepath.Join(dir, "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := secretbox.New(key, st, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Put(ctx, taskID, secrets); err != nil {
		t.Fatal(err)
	}
	return k
}
