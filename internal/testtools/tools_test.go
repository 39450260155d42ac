package testtools

import (
	"os"
	"path/filepath"
	"testing"
)

// TestBinaryReusesTheCache: a tool already in the cache is returned as is
// (no go install runs: there is no go on PATH for it to find).
func TestBinaryReusesTheCache(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("RIGGER_TOOL_CACHE", cache)
	t.Setenv("PATH", "")
	tool, ok := Known("terraform")
	if !ok {
		t.Fatal("terraform is not known")
	}
	bin := filepath.Join(cache, "terraform-"+tool.Version, "terraform")
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := Binary(t, "terraform"); got != bin {
		t.Fatalf("Binary = %s, want %s", got, bin)
	}
	if _, err := binary(t, "nonesuch"); err == nil {
		t.Fatal("an unknown tool was built")
	}
	// Not in the cache and no go to build it with: an error, which Binary
	// turns into a failure under CI and a skip elsewhere.
	if _, err := binary(t, "minio"); err == nil {
		t.Fatal("minio was found in an empty cache")
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("RIGGER_TOOL_CACHE", "")
	t.Setenv("HOME", "/home/x")
	if d, _ := CacheDir(); d != "/home/x/.cache/rigger/tools" {
		t.Fatalf("CacheDir = %s", d)
	}
	t.Setenv("RIGGER_TOOL_CACHE", "/c")
	if d, _ := CacheDir(); d != "/c" {
		t.Fatalf("CacheDir = %s", d)
	}
}
