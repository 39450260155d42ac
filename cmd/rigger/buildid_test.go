package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestGoBuildID: the build ID read from the running executable's ELF note
// is the one the Go toolchain reports for it (what names it to Temporal
// instead of a hash of the whole file).
func TestGoBuildID(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "tool", "buildid", exe).Output()
	if err != nil {
		t.Fatalf("go tool buildid: %v", err)
	}
	want := strings.TrimSpace(string(out))
	if got := goBuildID(); got == "" || got != want {
		t.Fatalf("goBuildID() = %q, want %q", got, want)
	}
}
