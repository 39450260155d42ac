package keyfile

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadOrCreate: the first call creates a private file with size random
// bytes; later calls read the same key.
func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "k.key")
	first, err := LoadOrCreate(path, 32)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(first))
	if err != nil || len(raw) != 32 {
		t.Fatalf("key %q: %d bytes, %v", first, len(raw), err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
		}
	}
	again, err := LoadOrCreate(path, 32)
	if err != nil || again != first {
		t.Fatalf("second call: %q, %v; want the same key", again, err)
	}
}
