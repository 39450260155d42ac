package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/riggerdev/rigger/internal/errs"
)

// recordingResolver is a resolver that records every lookup and answers
// none (a fake DNS server: the point is to see whether one is asked).
type recordingResolver struct {
	mu      sync.Mutex
	lookups int
}

func (r *recordingResolver) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
		r.mu.Lock()
		r.lookups++
		r.mu.Unlock()
		return nil, errors.New("fake resolver: no DNS in tests")
	}}
}

func (r *recordingResolver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lookups
}

// TestAllowedPaths: a host limited to path prefixes refuses every other
// path (and dot-segment or encoded tricks) before any DNS lookup.
func TestAllowedPaths(t *testing.T) {
	rec := &recordingResolver{}
	p := Policy{
		AllowedHosts: []string{"git.example.com", "open.example.com"},
		AllowedPaths: map[string][]string{"git.example.com": {"/acme", "/shared/"}},
		Setting:      "catalog.reading.allow",
		Resolver:     rec.resolver(),
	}
	c := NewClient(p)
	for _, refused := range []string{
		"https://git.example.com/other/catalog.yaml",
		"https://git.example.com/acme-evil/catalog.yaml",
		"https://git.example.com/",
		"https://git.example.com/acme/../secret.yaml",
		"https://git.example.com/acme/%2e%2e/secret.yaml",
		"https://git.example.com/acme%2f..%2fsecret.yaml",
		"https://git.example.com/acme/%252e%252e/secret.yaml",
		"https://git.example.com/acme\\..\\secret.yaml",
		"https://GIT.example.com./sharedx/a.yaml",
	} {
		_, err := Get(context.Background(), c, refused, 1<<20)
		if err == nil || !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), "path") {
			t.Errorf("%s: want a path refusal, got %v", refused, err)
		}
		if err != nil && !strings.Contains(err.Error(), "catalog.reading.allow") {
			t.Errorf("%s: the refusal %q does not name the setting", refused, err)
		}
		if n := rec.count(); n != 0 {
			t.Fatalf("%s: %d DNS lookups before the path was refused", refused, n)
		}
	}
	// Allowed paths (and hosts without paths) do get to DNS: the hook sees
	// them, so the zero above means something.
	for i, allowed := range []string{
		"https://git.example.com/acme/catalog.yaml",
		"https://git.example.com/acme",
		"https://git.example.com/shared/x/y.yaml",
		"https://open.example.com/anything",
	} {
		_, err := Get(context.Background(), c, allowed, 1<<20)
		if err == nil || errors.Is(err, errs.ErrForbidden) {
			t.Errorf("%s: want a DNS failure from the fake resolver, got %v", allowed, err)
		}
		if rec.count() <= i {
			t.Errorf("%s: no DNS lookup recorded", allowed)
		}
		if err != nil && strings.Contains(err.Error(), "fake resolver") {
			t.Errorf("%s: the resolver's own error reached the message: %v", allowed, err)
		}
	}
}

// TestAllowedPathsOnRedirect: a redirect to a path outside the prefixes is
// refused, and the server never sees the request.
func TestAllowedPathsOnRedirect(t *testing.T) {
	var secretHits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok/start":
			http.Redirect(w, r, "/private/key", http.StatusFound)
		case "/ok/fine":
			fmt.Fprint(w, "hello")
		default:
			mu.Lock()
			secretHits++
			mu.Unlock()
			fmt.Fprint(w, "secret")
		}
	}))
	defer srv.Close()
	c := NewClient(Policy{AllowedHosts: []string{"127.0.0.1"}, AllowedPaths: map[string][]string{"127.0.0.1": {"/ok"}}, AllowedNetworks: loopback})
	if b, err := Get(context.Background(), c, srv.URL+"/ok/fine", 1024); err != nil || string(b) != "hello" {
		t.Fatalf("allowed path: %q, %v", b, err)
	}
	_, err := Get(context.Background(), c, srv.URL+"/ok/start", 1024)
	if err == nil || !errors.Is(err, errs.ErrForbidden) || !strings.Contains(err.Error(), `"/private/key"`) {
		t.Fatalf("redirect outside the paths: want a refusal naming the path, got %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if secretHits != 0 {
		t.Fatalf("the refused path was requested %d times", secretHits)
	}
}

// TestRefusalNamesNoAddress: a host that resolves to a refused address is
// refused with its URL and the kind of address, never the address itself.
func TestRefusalNamesNoAddress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "x") }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	_, err := Get(context.Background(), NewClient(Policy{AllowedHosts: []string{"localhost"}, Setting: "catalog.reading.allow"}), "http://localhost:"+port+"/x", 1024)
	if err == nil || !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("want a refusal, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"localhost", "loopback", "catalog.reading.allow"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal %q does not mention %q", msg, want)
		}
	}
	for _, leak := range []string{"127.0.0.1", "::1"} {
		if strings.Contains(msg, leak) {
			t.Errorf("refusal %q lists the resolved address %s", msg, leak)
		}
	}
}
