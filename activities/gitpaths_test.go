package activities

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
	"github.com/riggerdev/rigger/internal/netguard"
)

// TestGitRemotePathsBeforeDNS: a git remote on a host limited to path
// prefixes (catalog.reading.allow[].paths) is refused outside them before
// the host is resolved; inside them it gets to DNS.
func TestGitRemotePathsBeforeDNS(t *testing.T) {
	var lookups atomic.Int32
	g := GitSource{Policy: netguard.Policy{
		AllowedHosts: []string{"git.example.com"},
		AllowedPaths: map[string][]string{"git.example.com": {"/acme"}},
		Setting:      "catalog.reading.allow",
		Resolver: &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
			lookups.Add(1)
			return nil, errors.New("fake resolver: no DNS in tests")
		}},
	}}
	for _, remote := range []string{"https://git.example.com/other/repo.git", "https://git.example.com/acme/../other/repo.git", "https://git.example.com/acmex/repo.git"} {
		_, _, err := g.checkRemote(context.Background(), remote)
		if err == nil || !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), "path") {
			t.Errorf("%s: want a path refusal, got %v", remote, err)
		}
		if n := lookups.Load(); n != 0 {
			t.Fatalf("%s: %d DNS lookups before the refusal", remote, n)
		}
	}
	_, _, err := g.checkRemote(context.Background(), "https://git.example.com/acme/repo.git")
	if err == nil || errors.Is(err, errs.ErrForbidden) || lookups.Load() == 0 {
		t.Fatalf("an allowed path: want a DNS failure from the fake resolver after a lookup, got %v (%d lookups)", err, lookups.Load())
	}
	if strings.Contains(err.Error(), "fake resolver") {
		t.Errorf("the resolver's error reached the message: %v", err)
	}
}
