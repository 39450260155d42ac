package liveconfig

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/riggerdev/rigger/internal/config"
)

// BenchmarkReload is one accepted reload of a small rigger.yaml with no
// hooks: read, hash, decode, validate and compare with the running
// configuration (what a SIGHUP costs; a file poll that finds the same
// hash costs only the read and the hash).
func BenchmarkReload(b *testing.B) {
	path := filepath.Join(b.TempDir(), "rigger.yaml")
	if err := os.WriteFile(path, []byte(base), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := load(path, []byte(base))
	if err != nil {
		b.Fatal(err)
	}
	l := New(Options{Load: load}, cfg, []byte(base))
	ctx := context.Background()
	for b.Loop() {
		if r := l.Reload(ctx, "signal"); !r.Accepted {
			b.Fatal(r.Err)
		}
	}
}

// BenchmarkPoll is one poll that finds the file unchanged.
func BenchmarkPoll(b *testing.B) {
	path := filepath.Join(b.TempDir(), "rigger.yaml")
	if err := os.WriteFile(path, []byte(base), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		data, err := config.ReadFile(path)
		if err != nil || Hash(data) == "" {
			b.Fatal(err)
		}
	}
}
